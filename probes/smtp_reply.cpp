#include "smtp_reply.h"

#include <cctype>

#include <cstdio>

namespace smtp_exporter::probes {
namespace {

ReplyParse error(std::string message) {
  ReplyParse p;
  p.status = ReplyParse::Status::error;
  p.error = std::move(message);
  return p;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Whether an incomplete line can still become "NNN", "NNN text" or
// "NNN-text" (first digit 2-5) once the rest arrives.
bool can_become_reply_line(std::string_view partial) {
  for (std::size_t i = 0; i < partial.size() && i < 3; ++i)
    if (!is_digit(partial[i]) || (i == 0 && (partial[0] < '2' || partial[0] > '5'))) return false;
  if (partial.size() < 4) return true;
  return partial[3] == ' ' || partial[3] == '-' || (partial[3] == '\r' && partial.size() == 4);
}

}  // namespace

std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  for (unsigned char c : text) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

ReplyParse parse_reply(std::string_view data, const ReplyLimits& limits) {
  ReplyParse result;
  std::size_t pos = 0;
  while (true) {
    std::size_t eol = data.find('\n', pos);
    if (eol == std::string_view::npos) {
      if (data.size() - pos >= limits.max_line_bytes)
        return error("reply line longer than " + std::to_string(limits.max_line_bytes) + " bytes");
      // Bytes that cannot start a reply line (a TLS alert, a binary banner)
      // fail now: a peer speaking another protocol may never end the line.
      std::string_view partial = data.substr(pos);
      if (!can_become_reply_line(partial)) return error("not an SMTP reply: \"" + printable(partial, 60) + "\"");
      return result;  // need_more
    }
    std::size_t line_bytes = eol + 1 - pos;
    if (line_bytes > limits.max_line_bytes)
      return error("reply line longer than " + std::to_string(limits.max_line_bytes) + " bytes");
    if (eol + 1 > limits.max_reply_bytes)
      return error("reply longer than " + std::to_string(limits.max_reply_bytes) + " bytes");
    if (result.reply.lines.size() >= limits.max_lines)
      return error("reply has more than " + std::to_string(limits.max_lines) + " lines");

    std::string_view line = data.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // "NNN", "NNN text" or "NNN-text"; first digit 2-5 (RFC 5321 §4.2).
    bool shaped = line.size() >= 3 && is_digit(line[0]) && is_digit(line[1]) && is_digit(line[2]) &&
                  line[0] >= '2' && line[0] <= '5' && (line.size() == 3 || line[3] == ' ' || line[3] == '-');
    if (!shaped) return error("not an SMTP reply: \"" + printable(line, 60) + "\"");
    for (unsigned char c : line.substr(3))
      if ((c < 0x20 && c != '\t') || c == 0x7f)
        return error("control characters in reply: \"" + printable(line, 60) + "\"");

    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (result.reply.lines.empty()) {
      result.reply.code = code;
    } else if (code != result.reply.code) {
      return error("reply code changed from " + std::to_string(result.reply.code) + " to " +
                   std::to_string(code) + " within one reply");
    }
    result.reply.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
    pos = eol + 1;
    if (line.size() == 3 || line[3] == ' ') {
      result.status = ReplyParse::Status::complete;
      result.consumed = pos;
      return result;
    }
  }
}

std::string enhanced_status_code(int code, std::string_view text) {
  // class "." subject(1-3 digits) "." detail(1-3 digits), then space or end.
  if (text.size() < 5 || text[0] != static_cast<char>('0' + code / 100) || text[1] != '.') return {};
  if (text[0] != '2' && text[0] != '4' && text[0] != '5') return {};
  std::size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    std::size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start || i - start > 3) return {};
    if (part == 0) {
      if (i >= text.size() || text[i] != '.') return {};
      ++i;
    }
  }
  if (i < text.size() && text[i] != ' ') return {};
  return std::string(text.substr(0, i));
}

}  // namespace smtp_exporter::probes
