// MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) texts as pure functions: the
// `_mta-sts` and `_smtp._tls` TXT records, the policy file, and MX pattern
// matching. No sockets or Asio here (fuzzed: tests/fuzz/mta_sts_policy.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_exporter::probes {

enum class StsMode { none, testing, enforce };
std::string_view to_string(StsMode mode);

// A policy file (RFC 8461 §3.2). `errors` empty: the policy is valid and
// senders apply it.
struct StsPolicy {
  std::optional<StsMode> mode;
  std::vector<std::string> mx;         // the patterns, as written (valid ones only)
  std::optional<std::int64_t> max_age;  // seconds, 0..31557600
  std::vector<std::string> unknown_keys;  // ignored by senders, reported
  std::vector<std::string> errors;        // one short sentence each, printable
  bool valid() const { return errors.empty(); }
};

// The longest max_age RFC 8461 §3.2 allows: one year.
inline constexpr std::int64_t kStsMaxAgeLimit = 31557600;

// Parses a policy body (LF or CRLF lines "key: value").
StsPolicy parse_sts_policy(std::string_view body);

// Whether `pattern` is a valid mx pattern: a domain name, or "*." and a
// domain name; not an IP address.
bool valid_mx_pattern(std::string_view pattern);

// RFC 8461 §4.1: `host` (an MX host name) matches `pattern` case-insensitively;
// "*.example.com" matches exactly one more left-most label.
bool mx_pattern_matches(std::string_view pattern, std::string_view host);

// The first of `patterns` that `host` matches, or nullopt.
std::optional<std::string> matching_pattern(const std::vector<std::string>& patterns, std::string_view host);

// The `_mta-sts` TXT records of a domain (RFC 8461 §3.1): exactly one record
// starting with "v=STSv1", with an id of 1 to 32 letters and digits.
struct StsRecord {
  int records = 0;     // records starting with "v=STSv1"
  std::string id;      // when valid
  std::string error;   // empty: valid
  bool valid() const { return error.empty(); }
};
StsRecord parse_sts_record(const std::vector<std::string>& texts);

// The `_smtp._tls` TXT records of a domain (RFC 8460 §3): exactly one record
// starting with "v=TLSRPTv1", whose rua= lists mailto: or https: URIs.
struct TlsRptRecord {
  int records = 0;
  std::vector<std::string> rua;  // when valid
  std::string error;             // empty: valid
  bool valid() const { return error.empty(); }
};
TlsRptRecord parse_tlsrpt_record(const std::vector<std::string>& texts);

// `text` with bytes outside printable ASCII as \xNN, cut to `max` bytes (for
// error messages quoting what was received).
std::string sts_printable(std::string_view text, std::size_t max = 80);

}  // namespace smtp_exporter::probes
