// What a DNS blocklist's answer means (RFC 5782): pure functions of the
// bytes a zone sends back, without sockets or Asio (fuzzed: tests/fuzz/dnsbl_answer.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_exporter::probes {

// What one answer of a zone about one address means.
struct DnsblAnswer {
  enum class Kind { not_listed, listed, error };
  Kind kind = Kind::not_listed;
  std::vector<std::string> codes;  // the A answer ("127.0.0.2", ...), for a listing or an error answer
  std::string reason;              // listed: the TXT record (printable, bounded); error: what went wrong
};

// How the A query ended: with records, without (NXDOMAIN or no data), or failed.
enum class DnsblStatus { answered, not_found, failed };

// The answer to an A query of a blocklist (IPv4 addresses in host order):
// not_found is "not listed"; 127.0.0.0/8 a listing, except 127.0.0.1 (RFC
// 5782 §5: never a listing) and 127.255.255.0/24 (the big lists' error
// codes: refused through a public resolver, rate-limited, bad key); an
// answer outside 127.0.0.0/8 (a resolver that rewrites NXDOMAIN) and a failed
// lookup (`failure` says how) are errors.
DnsblAnswer classify_dnsbl_answer(DnsblStatus status, std::string_view failure, const std::vector<std::uint32_t>& a);
// A TXT answer as a reason: the records joined by "; ", bytes outside
// printable ASCII replaced by '?', at most 200 characters.
std::string dnsbl_reason(const std::vector<std::string>& texts);
// `text` with every occurrence of `secret` replaced by "<key>".
std::string dnsbl_redacted(std::string text, const std::string& secret);
// The value of probe_smtp_dnsbl_listed_code: the last octet of the lowest
// code (127.0.0.2 → 2), 0 without one.
int dnsbl_code_value(const DnsblAnswer& answer);

// A zone's own health (RFC 5782 §5): 127.0.0.2 listed, 127.0.0.1 not.
enum class ZoneHealth { unknown, ok, broken, untestable };
std::string_view to_string(ZoneHealth);
// Judges the test answers; `detail` says why when not ok.
ZoneHealth judge_zone(const DnsblAnswer& test_listed, const DnsblAnswer& test_unlisted, std::string& detail);

}  // namespace smtp_exporter::probes
