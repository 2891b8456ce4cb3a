// Validated DNS look-ups (DNSSEC) through libunbound, for the DANE unit and
// the /metrics self-test. One validating context per set of (forwarders,
// trust anchor), process-wide, so its cache keeps repeated probes of a domain
// cheap. libunbound resolves on its own thread (ub_ctx_async(ctx, 1)): the
// event loop only waits on its result pipe (ub_fd), and ub_process() delivers
// the answers. A look-up is bounded by the caller's deadline (ub_cancel).
// c-ares (dns.h) stays the resolver of every other look-up.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "smtp_exporter/config.h"

namespace smtp_exporter::probes {

// The DNSSEC status of one answer (RFC 4033 §5): secure (validated),
// insecure (provably unsigned), bogus (signed but failing validation),
// indeterminate (no answer: timeout, SERVFAIL without a validation failure,
// a broken validator).
enum class DnssecStatus { secure, insecure, bogus, indeterminate };
std::string_view to_string(DnssecStatus);

struct ValidatedAnswer {
  DnssecStatus status = DnssecStatus::indeterminate;
  bool nxdomain = false;
  bool havedata = false;
  int rcode = 0;
  std::string canonname;    // the name after CNAMEs (without the final dot)
  std::string why_bogus;    // libunbound's reason, when bogus
  std::string error;        // when indeterminate: why
  std::vector<std::vector<unsigned char>> rdata;  // wire rdata of each record
};

// The validator's settings: the forwarders ("IP", "IP:PORT", "[IPV6]:PORT",
// as [dns] servers; empty: recursion from the root) and the trust anchor
// file (DS or DNSKEY records, zone-file format; empty: kRootAnchorFile).
struct ValidatorOptions {
  std::vector<std::string> servers;
  std::string trust_anchor_file;
  bool operator==(const ValidatorOptions&) const = default;
};
ValidatorOptions validator_options(const config::DnsConfig& dns);
inline constexpr std::string_view kRootAnchorFile = "/usr/share/dns/root.key";

// One validated look-up of `name` (type `rrtype`: 1 A, 28 AAAA, 15 MX,
// 48 DNSKEY, 52 TLSA) on the caller's executor, bounded by `deadline`.
boost::asio::awaitable<ValidatedAnswer> validated_lookup(const ValidatorOptions& options, const std::string& name,
                                                         int rrtype,
                                                         std::chrono::steady_clock::time_point deadline);

// The name the validator's self-test asks about (DNSKEY): the first owner
// name of the anchor file, "." for the root anchor.
std::string anchor_zone(const ValidatorOptions& options);

}  // namespace smtp_exporter::probes
