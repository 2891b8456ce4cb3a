#include "smtp_exporter/probe_query.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace smtp_exporter::exporter {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// RFC 1123 host name: dot-separated labels of letters, digits, '-' (and '_',
// which real mail hosts use), each 1-63 long and not starting or ending with
// '-', 253 in all, optional final dot.
bool is_hostname(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  char previous = '.';
  for (char c : name) {
    bool hyphen_at_edge = (c == '-' && previous == '.') || (c == '.' && previous == '-');
    previous = c;
    if (hyphen_at_edge) return false;
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0 && previous != '-';
}

// Whether a resolver could read `name` as a number: its last label (as the
// WHATWG URL standard's "ends in a number" checker reads it) is all decimal
// digits, or "0x" with hex digits. inet_aton() and c-ares take "127.1",
// "0177.0.0.1" (octal), "2130706433" and "0x7f000001" as addresses of their
// own reading; only the canonical dotted quad (is_ipv4) is accepted as one.
bool ends_in_number(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string_view last = name.substr(name.rfind('.') == std::string_view::npos ? 0 : name.rfind('.') + 1);
  if (last.empty()) return false;
  if (std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; })) return true;
  return (last.starts_with("0x") || last.starts_with("0X")) &&
         std::all_of(last.begin() + 2, last.end(), [](char c) { return hex_value(c) >= 0; });
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;  // "%" or "%X" at the end
      int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::map<std::string, std::string>> parse_query(std::string_view query, std::string& error) {
  std::map<std::string, std::string> params;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!key || !value) {
      error = "malformed percent-encoding in the query string";
      return std::nullopt;
    }
    params.emplace(std::move(*key), std::move(*value));  // emplace keeps the first
  }
  return params;
}

std::optional<std::chrono::milliseconds> probe_timeout(std::chrono::milliseconds module_timeout,
                                                       const std::string* header, double offset_seconds,
                                                       std::string& error) {
  if (!header) return module_timeout;
  char* end = nullptr;
  double scrape = std::strtod(header->c_str(), &end);
  if (header->empty() || end != header->c_str() + header->size() || !std::isfinite(scrape) || scrape <= 0) {
    error = "invalid X-Prometheus-Scrape-Timeout-Seconds header: not a positive number of seconds";
    return std::nullopt;
  }
  double budget = scrape - offset_seconds > 0 ? scrape - offset_seconds : scrape;
  // Compared before rounding: llround() of a budget beyond the range of long
  // long (a header such as "1e300") is unspecified, LLONG_MIN on x86-64, which
  // the max() below turned into a 1 ms deadline.
  if (budget * 1000 >= static_cast<double>(module_timeout.count())) return module_timeout;
  auto budget_ms = std::chrono::milliseconds(std::max<long long>(1, std::llround(budget * 1000)));
  return std::min(module_timeout, budget_ms);
}

std::optional<Target> parse_target(std::string_view text, std::string& error) {
  auto reject = [&](std::string why) -> std::optional<Target> {
    error = std::move(why);
    return std::nullopt;
  };
  if (text.empty()) return reject("target is empty");
  if (text.size() > 300) return reject("target is longer than 300 characters");
  if (std::any_of(text.begin(), text.end(), [](unsigned char c) { return c <= 0x20 || c >= 0x7f; }))
    return reject("target contains a space, a control character or a non-ASCII byte");

  Target target;
  std::string_view port_text;
  bool has_port = false;
  if (text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return reject("target has '[' without a closing ']'");
    target.host = std::string(text.substr(1, close - 1));
    if (!is_ipv6(target.host)) return reject("\"" + target.host + "\" in brackets is not an IPv6 address");
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return reject("expected \":PORT\" after the IPv6 address");
      port_text = rest.substr(1);
      has_port = true;
    }
  } else if (std::count(text.begin(), text.end(), ':') > 1) {
    target.host = std::string(text);
    if (!is_ipv6(target.host))
      return reject("target is neither HOST:PORT nor an IPv6 address (write IPv6 with a port as [ADDRESS]:PORT)");
  } else {
    std::size_t colon = text.find(':');
    target.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
      has_port = true;
    }
    if (!is_ipv4(target.host) && ends_in_number(target.host))
      return reject("\"" + target.host +
                    "\" is not an IPv4 address in canonical form (four decimal numbers from 0 to 255 without "
                    "leading zeros, e.g. 192.0.2.25)");
    if (!is_ipv4(target.host) && !is_hostname(target.host))
      return reject("\"" + target.host + "\" is not a valid host name or IPv4 address");
  }
  if (has_port) {
    target.port = parse_port(port_text);
    if (!target.port) return reject("port \"" + std::string(port_text) + "\" is not a number from 1 to 65535");
  }
  return target;
}

}  // namespace smtp_exporter::exporter
