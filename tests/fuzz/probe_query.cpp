// Fuzz target: the /probe request parsing of exporter/http/probe_query.cpp:
// parse_query, percent_decode, parse_target and probe_timeout.
//
// The input is a query string ("target=mx%3Aexample.com&module=smtp_banner").
// It is handled as App::State::probe does (target with its "mx:" prefix,
// hostname=, the scrape-timeout header, here taken from a "timeout"
// parameter), and the whole input is also given to each function directly.
// Round trips: percent_decode(percent_encode(x)) == x, a query built back
// from the parsed map parses to the same map, a target written back as
// HOST:PORT / [IPv6]:PORT parses to the same target.
#include <arpa/inet.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "smtp_exporter/probe_query.h"

using namespace smtp_exporter::exporter;
using std::chrono::milliseconds;

namespace {

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void check_decode(std::string_view text) {
  auto decoded = percent_decode(text);
  if (decoded) {
    FUZZ_CHECK(decoded->size() <= text.size());
    if (text.find('%') == std::string_view::npos) {
      std::string expected(text);
      for (char& c : expected)
        if (c == '+') c = ' ';
      FUZZ_CHECK(*decoded == expected);
    }
  } else {
    FUZZ_CHECK(text.find('%') != std::string_view::npos);
  }
  auto again = percent_decode(percent_encode(text));
  FUZZ_CHECK(again && *again == text);
}

void check_query(std::string_view query) {
  std::string error;
  auto params = parse_query(query, error);
  if (!params) {
    FUZZ_CHECK(!error.empty());
    return;
  }
  FUZZ_CHECK(error.empty());
  // Built back (keys are unique in the map), it parses to the same map.
  std::string rebuilt;
  for (const auto& [key, value] : *params) {
    if (!rebuilt.empty()) rebuilt += '&';
    rebuilt += percent_encode(key) + "=" + percent_encode(value);
  }
  std::string error2;
  auto again = parse_query(rebuilt, error2);
  FUZZ_CHECK(again && *again == *params);
}

bool is_host_byte(unsigned char c) { return c > 0x20 && c < 0x7f; }

void check_target(std::string_view text) {
  std::string error;
  auto target = parse_target(text, error);
  if (!target) {
    FUZZ_CHECK(!error.empty());
    return;
  }
  FUZZ_CHECK(!target->host.empty());
  FUZZ_CHECK(target->host.size() <= text.size());
  for (unsigned char c : target->host) FUZZ_CHECK(is_host_byte(c));
  FUZZ_CHECK(target->host.find_first_of("[]/@?#") == std::string::npos);
  FUZZ_CHECK(!target->port || *target->port >= 1);
  // A host that inet_aton() would read as an address is exactly a canonical
  // dotted quad (or IPv6): no other numeric form reaches a resolver.
  in_addr any{};
  if (inet_aton(target->host.c_str(), &any) != 0) {
    char canonical[INET_ADDRSTRLEN];
    FUZZ_CHECK(inet_ntop(AF_INET, &any, canonical, sizeof canonical) && target->host == canonical);
  }
  // Written back in canonical form, it reads the same.
  bool v6 = target->host.find(':') != std::string::npos;
  std::string text2 = v6 && target->port ? "[" + target->host + "]" : target->host;
  if (target->port) text2 += ":" + std::to_string(*target->port);
  std::string error2;
  auto again = parse_target(text2, error2);
  FUZZ_CHECK(again && again->host == target->host && again->port == target->port);
  if (v6) {  // a bare IPv6 literal in brackets, without a port
    auto bracketed = parse_target("[" + target->host + "]", error2);
    FUZZ_CHECK(bracketed && bracketed->host == target->host && !bracketed->port);
  }
}

// The deadline is at least 1 ms and never above the module's timeout; it is
// the module's timeout when the scrape budget (scrape timeout minus the
// offset, or the scrape timeout when the offset is not smaller) is not below
// it.
void check_timeout(milliseconds module_timeout, const std::string* header, double offset) {
  std::string error;
  auto timeout = probe_timeout(module_timeout, header, offset, error);
  if (!header) {
    FUZZ_CHECK(timeout && *timeout == module_timeout);
    return;
  }
  char* end = nullptr;
  double scrape = std::strtod(header->c_str(), &end);
  bool valid = !header->empty() && end == header->c_str() + header->size() && std::isfinite(scrape) && scrape > 0;
  FUZZ_CHECK(timeout.has_value() == valid);
  if (!timeout) {
    FUZZ_CHECK(!error.empty());
    return;
  }
  FUZZ_CHECK(*timeout >= milliseconds(1));
  FUZZ_CHECK(*timeout <= module_timeout);
  double budget = scrape - offset > 0 ? scrape - offset : scrape;
  if (budget * 1000 >= static_cast<double>(module_timeout.count())) FUZZ_CHECK(*timeout == module_timeout);
  if (budget * 1000 <= static_cast<double>(module_timeout.count()) - 1)
    FUZZ_CHECK(*timeout < module_timeout);  // a shorter budget is applied
}

void check_timeouts(const std::string* header, std::size_t seed) {
  static constexpr milliseconds kModuleTimeouts[] = {milliseconds(1), milliseconds(10'000), milliseconds(600'000),
                                                     milliseconds(365LL * 24 * 3600 * 1000)};
  static constexpr double kOffsets[] = {0.5, 0, 10, 1e-3};
  check_timeout(kModuleTimeouts[seed % 4], header, kOffsets[(seed / 4) % 4]);
  check_timeout(milliseconds(10'000), header, 0.5);  // the defaults
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view data(reinterpret_cast<const char*>(bytes), size);
  const std::size_t seed = size > 0 ? bytes[0] : 0;

  check_query(data);
  check_decode(data);
  check_target(data);
  const std::string whole(data);
  check_timeouts(&whole, seed);
  check_timeouts(nullptr, seed);

  // As /probe does.
  std::string error;
  auto params = parse_query(data, error);
  if (!params) return 0;
  for (const auto& [key, value] : *params) {
    check_decode(value);
    check_target(value);
  }
  if (auto target = params->find("target"); target != params->end()) {
    std::string_view text = target->second;
    if (text.starts_with("mx:")) text.remove_prefix(3);
    check_target(text);
  }
  if (auto timeout = params->find("timeout"); timeout != params->end()) check_timeouts(&timeout->second, seed);
  return 0;
}
