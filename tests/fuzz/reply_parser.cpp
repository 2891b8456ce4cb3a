// Fuzz target: probes::parse_reply and probes::printable (probes/smtp_reply.cpp).
//
// The input is what a server sends. It is parsed whole with the default
// limits and with small limits derived from its first bytes, reply after
// reply as the probe does (erase what a complete reply consumed, parse the
// rest). It is also split in two, and fed in chunks as a socket would deliver
// it, to check that parsing a prefix agrees with parsing the whole: the probe
// re-parses its buffer after every read, so a reply must not depend on where
// the reads cut the bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "smtp_reply.h"

using smtp_exporter::probes::parse_reply;
using smtp_exporter::probes::printable;
using smtp_exporter::probes::ReplyLimits;
using smtp_exporter::probes::ReplyParse;
using Status = ReplyParse::Status;

namespace {

bool printable_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // printable() writes lower-case hex only
}

// Undoes printable()'s escaping; false when `escaped` is not something
// printable() can produce.
bool unescape(std::string_view escaped, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '\\') {
      out += escaped[i];
      continue;
    }
    if (i + 3 >= escaped.size() || escaped[i + 1] != 'x') return false;  // "\xNN" needs 4 bytes
    int hi = hex(escaped[i + 2]), lo = hex(escaped[i + 3]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 3;
  }
  return true;
}

// printable(text, max): printable ASCII only, bounded, and reversible up to
// the "..." cut.
void check_printable(std::string_view text, std::size_t max) {
  std::string out = printable(text, max);
  FUZZ_CHECK(printable_ascii(out));
  FUZZ_CHECK(out.size() <= max + 6);  // the last escape (4) may pass max, then "..."
  std::string decoded;
  if (unescape(out, decoded) && decoded == text) return;  // nothing cut
  FUZZ_CHECK(out.size() >= 3 && out.ends_with("..."));
  FUZZ_CHECK(unescape(std::string_view(out).substr(0, out.size() - 3), decoded));
  FUZZ_CHECK(decoded.size() < text.size());
  FUZZ_CHECK(text.starts_with(decoded));
  FUZZ_CHECK(out.size() - 3 >= max);  // cut only once max is reached
}

// What every result must satisfy, whatever the input.
void check_result(std::string_view data, const ReplyLimits& limits, const ReplyParse& p) {
  FUZZ_CHECK(p.consumed <= data.size());
  switch (p.status) {
    case Status::need_more: {
      FUZZ_CHECK(p.consumed == 0);
      FUZZ_CHECK(p.error.empty());
      // The incomplete last line can still become "NNN", "NNN text" or
      // "NNN-text": anything else fails at once, without waiting for a line
      // end that a peer speaking another protocol may never send.
      std::size_t last_lf = data.rfind('\n');
      std::string_view partial = last_lf == std::string_view::npos ? data : data.substr(last_lf + 1);
      if (!partial.empty()) FUZZ_CHECK(partial[0] >= '2' && partial[0] <= '5');
      for (std::size_t i = 1; i < partial.size() && i < 3; ++i) FUZZ_CHECK(partial[i] >= '0' && partial[i] <= '9');
      if (partial.size() >= 4)
        FUZZ_CHECK(partial[3] == ' ' || partial[3] == '-' || (partial[3] == '\r' && partial.size() == 4));
      // A partial reply never grows past the limits before being rejected.
      FUZZ_CHECK(data.size() < limits.max_reply_bytes + limits.max_line_bytes);
      FUZZ_CHECK(p.reply.lines.size() <= limits.max_lines);
      break;
    }
    case Status::error:
      FUZZ_CHECK(p.consumed == 0);
      FUZZ_CHECK(!p.error.empty());
      FUZZ_CHECK(printable_ascii(p.error));  // goes into a metric label / log line
      break;
    case Status::complete: {
      FUZZ_CHECK(p.error.empty());
      FUZZ_CHECK(p.consumed > 0);
      FUZZ_CHECK(p.consumed <= limits.max_reply_bytes);
      FUZZ_CHECK(data[p.consumed - 1] == '\n');
      FUZZ_CHECK(!p.reply.lines.empty());
      FUZZ_CHECK(p.reply.lines.size() <= limits.max_lines);
      FUZZ_CHECK(p.reply.code >= 200 && p.reply.code <= 599);
      // The reply is exactly the consumed bytes: "CODE-text" lines, then
      // "CODE text" or "CODE", each ended by LF or CR LF.
      const std::string code = std::to_string(p.reply.code);
      std::size_t pos = 0;
      for (std::size_t i = 0; i < p.reply.lines.size(); ++i) {
        const std::string& text = p.reply.lines[i];
        bool last = i + 1 == p.reply.lines.size();
        for (unsigned char c : text) FUZZ_CHECK((c >= 0x20 && c != 0x7f) || c == '\t');
        std::size_t start = pos;
        FUZZ_CHECK(pos + 3 < p.consumed && data.substr(pos, 3) == code);
        pos += 3;
        if (!last) {
          FUZZ_CHECK(data[pos] == '-');
          ++pos;
        } else if (data[pos] == ' ') {
          ++pos;
        } else {
          FUZZ_CHECK(text.empty());
        }
        FUZZ_CHECK(pos + text.size() < p.consumed && data.substr(pos, text.size()) == text);
        pos += text.size();
        if (data[pos] == '\r') ++pos;
        FUZZ_CHECK(pos < p.consumed && data[pos] == '\n');
        ++pos;
        FUZZ_CHECK(pos - start <= limits.max_line_bytes);
      }
      FUZZ_CHECK(pos == p.consumed);
      break;
    }
  }
}

bool same_reply(const ReplyParse& a, const ReplyParse& b) {
  return a.status == b.status && a.consumed == b.consumed && a.reply.code == b.reply.code &&
         a.reply.lines == b.reply.lines && a.error == b.error;
}

// Parsing data[0, cut) must agree with parsing all of data (`whole`).
void check_prefix(std::string_view data, std::size_t cut, const ReplyLimits& limits, const ReplyParse& whole) {
  std::string_view prefix = data.substr(0, cut);
  ReplyParse p = parse_reply(prefix, limits);
  check_result(prefix, limits, p);
  switch (whole.status) {
    case Status::complete:
      if (cut >= whole.consumed) {
        FUZZ_CHECK(same_reply(p, whole));
      } else {
        FUZZ_CHECK(p.status == Status::need_more);
      }
      break;
    case Status::need_more:
      FUZZ_CHECK(p.status == Status::need_more);
      break;
    case Status::error:
      // The error may lie beyond the cut. When the prefix already shows it,
      // the message can differ: a partial line that cannot become a reply
      // line is quoted as far as it has arrived.
      FUZZ_CHECK(p.status != Status::complete);
      break;
  }
}

// The replies of an input, parsed one after the other.
struct Sequence {
  std::vector<smtp_exporter::probes::Reply> replies;
  Status end = Status::need_more;  // what follows the last complete reply
  bool capped = false;             // stopped at kMaxReplies
};
constexpr std::size_t kMaxReplies = 64;

bool same(const smtp_exporter::probes::Reply& a, const smtp_exporter::probes::Reply& b) {
  return a.code == b.code && a.lines == b.lines;
}

// Parses every reply in `data` one after the other, as the probe's read loop
// does (drop what a complete reply consumed, parse the rest), checking each
// result and splits of the remaining bytes.
Sequence parse_all(std::string_view data, const ReplyLimits& limits, std::size_t split_seed) {
  Sequence seq;
  while (seq.replies.size() < kMaxReplies) {
    ReplyParse p = parse_reply(data, limits);
    check_result(data, limits, p);
    if (!data.empty()) {
      check_prefix(data, (split_seed + seq.replies.size() * 7919) % (data.size() + 1), limits, p);
      check_prefix(data, data.size() / 2, limits, p);
      check_prefix(data, data.size() - 1, limits, p);
    }
    if (p.status != Status::complete) {
      seq.end = p.status;
      return seq;
    }
    for (const auto& line : p.reply.lines) check_printable(line, 60);
    seq.replies.push_back(std::move(p.reply));
    data.remove_prefix(p.consumed);
  }
  seq.capped = true;
  return seq;
}

// The probe's read loop with the bytes arriving in chunks of 1 to 64 bytes
// (sizes from a generator seeded by `seed`): after each chunk, every complete
// reply is taken from the buffer. It must see the replies of `whole` in the
// same order, and end the same way (an error may show up earlier, never a
// different reply).
void check_streaming(std::string_view data, const ReplyLimits& limits, const Sequence& whole, std::uint32_t seed) {
  std::string buffer;
  std::vector<smtp_exporter::probes::Reply> replies;
  Status end = Status::need_more;
  std::size_t pos = 0;
  while (pos < data.size() && end != Status::error && replies.size() < kMaxReplies) {
    seed = seed * 1103515245u + 12345u;
    std::size_t n = std::min<std::size_t>(data.size() - pos, 1 + (seed >> 16) % 64);
    buffer.append(data.substr(pos, n));
    pos += n;
    while (replies.size() < kMaxReplies) {
      ReplyParse p = parse_reply(buffer, limits);
      end = p.status;
      if (p.status != Status::complete) break;
      replies.push_back(std::move(p.reply));
      buffer.erase(0, p.consumed);
    }
  }
  FUZZ_CHECK(replies.size() <= whole.replies.size());
  for (std::size_t i = 0; i < replies.size(); ++i) FUZZ_CHECK(same(replies[i], whole.replies[i]));
  if (whole.capped) return;
  if (whole.end == Status::error) {
    FUZZ_CHECK(end == Status::error);
  } else {
    FUZZ_CHECK(end == Status::need_more);
    FUZZ_CHECK(replies.size() == whole.replies.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view data(reinterpret_cast<const char*>(bytes), size);

  // The probe's limits (the default ones).
  Sequence whole = parse_all(data, ReplyLimits{}, size > 0 ? bytes[0] : 0);
  check_streaming(data, ReplyLimits{}, whole, static_cast<std::uint32_t>(size));

  // Small limits, so the line, byte and line-count bounds are all reached
  // with short inputs. The bytes that choose them are still parsed.
  if (size >= 3) {
    ReplyLimits tight;
    tight.max_line_bytes = 6 + bytes[0] % 64;
    tight.max_lines = 1 + bytes[1] % 8;
    tight.max_reply_bytes = 8 + static_cast<std::size_t>(bytes[2]) * 2;
    Sequence tight_whole = parse_all(data, tight, bytes[size - 1]);
    check_streaming(data, tight, tight_whole, bytes[1]);
  }

  check_printable(data, 120);
  check_printable(data, size > 0 ? bytes[0] % 32 : 0);
  return 0;
}
