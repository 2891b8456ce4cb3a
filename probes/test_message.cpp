// The test message (test_message.h).
#include "test_message.h"

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
  return {std::move(token), stamp, date, std::move(domain)};
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

}  // namespace smtp_exporter::probes
