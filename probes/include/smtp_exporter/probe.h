// Runs one SMTP probe on the caller's executor: resolve, connect, TLS,
// greeting, EHLO (HELO fallback), STARTTLS, QUIT, all bounded by one
// deadline; or, for a mail domain (request.mx), that probe against every
// host of its MX set at once.
#pragma once

#include <utility>  // before Asio: Boost 1.74 + GCC 12 need std::exchange declared

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "smtp_exporter/config.h"
#include "smtp_exporter/probe_result.h"
#include "smtp_exporter/tls_context.h"

namespace smtp_exporter::probes {

struct ProbeRequest {
  std::string host;  // DNS name or IP literal (IPv6 without brackets)
  std::uint16_t port = 25;
  config::Module module;
  std::chrono::milliseconds timeout{10000};  // the whole probe's deadline
  // TLS: the module's prebuilt context (built from module.tls_config on
  // first use when null), and a verification name overriding
  // tls_config.server_name and the target host (&hostname= on /probe).
  std::shared_ptr<TlsContext> tls_context;
  std::string server_name;
  // `host` is a mail domain: probe every address of every host of its MX
  // set (module.mx, or a target written mx:DOMAIN).
  bool mx = false;
  // Connect to this IP address instead of resolving `host` (which still
  // names the server for TLS). Used for the hosts of an MX set.
  std::string address;
  // The probe of an MX host: the mail domain whose MX set named it (the
  // dane unit validates that MX answer too, RFC 7672 §2.2.1).
  std::string mail_domain;
};

// Never throws for network trouble: every failure is in the result.
// `request` must outlive the returned awaitable (co_await it at once).
boost::asio::awaitable<ProbeResult> run_probe(const ProbeRequest& request);

}  // namespace smtp_exporter::probes
