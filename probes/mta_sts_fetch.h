// The HTTPS fetch of an MTA-STS policy (RFC 8461 §3.3): GET
// https://mta-sts.DOMAIN/.well-known/mta-sts.txt, the host resolved with
// c-ares, the certificate verified for mta-sts.DOMAIN (SNI, PKIX, the
// module's CA settings), no redirect followed, the body capped at 64 KiB,
// everything bounded by the probe's deadline. Boost.Beast lives in the .cpp
// only (slow to compile).
#pragma once

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "smtp_exporter/config.h"
#include "smtp_exporter/deadline.h"
#include "smtp_exporter/probe_result.h"
#include "smtp_exporter/tls_context.h"

namespace smtp_exporter::probes {

// The largest policy body read (RFC 8461 §3.2 sets no limit; 64 KiB is
// what postfix-mta-sts-resolver and the big senders allow).
inline constexpr std::size_t kStsBodyLimit = 64 * 1024;

struct PolicyFetch {
  // How the fetch ended. Every value but `ok` means no policy was taken.
  enum class Outcome {
    ok,            // 200, text/plain, a body within the limit
    fetch_error,   // resolve, connect, TLS handshake, HTTP syntax, timeout
    certificate,   // the handshake worked, the certificate did not verify for mta-sts.DOMAIN
    http_status,   // not 200 (a redirect is not followed)
    content_type,  // not text/plain
    too_large,     // the body is over kStsBodyLimit
  };
  Outcome outcome = Outcome::fetch_error;
  std::string detail;    // one printable line; empty when ok
  std::string url;
  std::string address;   // the address connected to
  int status = 0;
  std::string content_type;
  std::string location;  // of a redirect
  std::string body;      // when ok
  std::optional<TlsInfo> tls;  // the policy host's TLS facts, once a handshake completed
  double seconds = 0;
};
std::string_view to_string(PolicyFetch::Outcome outcome);

// Whether a Content-Type value is text/plain, parameters allowed
// (case-insensitive type, as RFC 9110 §8.3.1 says).
bool is_text_plain(std::string_view content_type);

// `port`: 443 except in tests (module key mta_sts_policy_port).
// `context` is the module's TLS client context (its CA store). `deadline`
// must outlive the returned awaitable.
boost::asio::awaitable<PolicyFetch> fetch_sts_policy(const std::string& domain, std::uint16_t port,
                                                     const config::DnsConfig& dns,
                                                     const std::shared_ptr<TlsContext>& context,
                                                     const Deadline& deadline);

}  // namespace smtp_exporter::probes
