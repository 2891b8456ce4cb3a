// Runs one SMTP probe on the caller's executor: resolve, connect, greeting,
// EHLO (HELO fallback), QUIT, all bounded by one deadline.
#pragma once

#include <utility>  // before Asio: Boost 1.74 + GCC 12 need std::exchange declared

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "smtp_exporter/config.h"
#include "smtp_exporter/probe_result.h"

namespace smtp_exporter::probes {

struct ProbeRequest {
  std::string host;  // DNS name or IP literal (IPv6 without brackets)
  std::uint16_t port = 25;
  config::Module module;
  std::chrono::milliseconds timeout{10000};  // the whole probe's deadline
};

// Never throws for network trouble: every failure is in the result.
// `request` must outlive the returned awaitable (co_await it at once).
boost::asio::awaitable<ProbeResult> run_probe(const ProbeRequest& request);

}  // namespace smtp_exporter::probes
