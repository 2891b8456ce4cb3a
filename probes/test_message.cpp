// The test message (test_message.h).
#include "test_message.h"

#include <cctype>

#include <openssl/rand.h>

#include <cstdio>
#include <ctime>

namespace smtp_exporter::probes {

std::string random_token() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[6];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    auto seed = std::chrono::steady_clock::now().time_since_epoch().count();
    for (auto& b : bytes) b = static_cast<unsigned char>(seed >>= 5);
  }
  std::string token;
  for (unsigned char b : bytes) token += kAlphabet[b % 36];
  return token;
}

MessageFields message_fields(std::chrono::system_clock::time_point now, std::string token, std::string domain) {
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32], date[64];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::snprintf(date, sizeof date, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return {std::move(token), stamp, date, std::move(domain), static_cast<std::int64_t>(t)};
}

std::string build_message(const config::SendConfig& send, const MessageFields& f) {
  std::string to;
  for (const auto& address : send.to) to += (to.empty() ? "<" : ", <") + address + ">";
  std::string domain = f.domain;
  // An address literal is no valid Message-ID domain: keep only its characters.
  std::erase_if(domain, [](char c) { return c == '[' || c == ']' || c == ':'; });
  if (domain.empty()) domain = "localhost";
  std::string out;
  out += "From: <" + send.from + ">\r\n";
  out += "To: " + to + "\r\n";
  out += "Subject: " + send.subject_prefix + " " + f.timestamp + " " + f.token + "\r\n";
  out += "Date: " + f.date + "\r\n";
  // ':' is not allowed left of '@' in a msg-id (RFC 5322 §3.6.4): 20260102T030405Z.
  std::string compact = f.timestamp;
  std::erase_if(compact, [](char c) { return c == '-' || c == ':'; });
  out += "Message-ID: <smtp-exporter." + f.token + "." + compact + "@" + domain + ">\r\n";
  out += "X-Smtp-Exporter-Token: " + token_header_value(f) + "\r\n";
  for (const auto& [name, value] : send.headers) out += name + ": " + value + "\r\n";
  out += "\r\n";
  std::string_view body = send.body;
  while (!body.empty()) {
    std::size_t eol = body.find('\n');
    std::string_view line = body.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.starts_with('.')) out += '.';
    out.append(line).append("\r\n");
    body.remove_prefix(eol == std::string_view::npos ? body.size() : eol + 1);
  }
  out += ".\r\n";
  return out;
}

std::string token_header_value(const MessageFields& fields) {
  return fields.token + "; sent=" + std::to_string(fields.unix_seconds);
}

std::optional<TokenHeader> parse_token_header(std::string_view value) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return s;
  };
  value = trim(value);
  std::size_t semicolon = value.find(';');
  TokenHeader out;
  std::string_view token = trim(value.substr(0, semicolon));
  if (token.empty() || token.size() > 64) return std::nullopt;
  for (char c : token)
    if (!std::isalnum(static_cast<unsigned char>(c))) return std::nullopt;
  out.token = std::string(token);
  if (semicolon == std::string_view::npos) return out;
  std::string_view rest = trim(value.substr(semicolon + 1));
  if (!rest.starts_with("sent=")) return std::nullopt;
  rest.remove_prefix(5);
  if (rest.empty() || rest.size() > 12) return std::nullopt;
  for (char c : rest) {
    if (c < '0' || c > '9') return std::nullopt;
    out.sent_unix = out.sent_unix * 10 + (c - '0');
  }
  return out;
}

std::string token_header_in(std::string_view block) {
  constexpr std::string_view kName = "x-smtp-exporter-token:";
  std::size_t pos = 0;
  while (pos < block.size()) {
    std::size_t end = block.find('\n', pos);
    std::string_view line = block.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? block.size() : end + 1;
    if (line.empty() || line == "\r") break;  // the end of the header
    if (line.size() < kName.size()) continue;
    bool match = true;
    for (std::size_t i = 0; i < kName.size() && match; ++i)
      match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    if (match) {
      std::string value(line.substr(kName.size()));
      if (!value.empty() && value.back() == '\r') value.pop_back();
      return value;
    }
  }
  return {};
}

}  // namespace smtp_exporter::probes
