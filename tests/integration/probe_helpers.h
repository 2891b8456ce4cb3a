// Runs probes from tests on a private io_context, synchronously.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <stdexcept>

#include "smtp_exporter/probe.h"

namespace smtp_exporter::testing {

inline config::Module test_module() {
  config::Module m;
  m.ehlo_name = "probe.test";
  m.ip_protocol = config::IpProtocol::ip4;
  return m;
}

// Asserts a failed probe with this stage and reason (names compared, so a
// mismatch prints readably).
inline void expect_failure(const probes::ProbeResult& r, probes::Stage stage, probes::FailureReason reason) {
  EXPECT_FALSE(r.success);
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_EQ(probes::to_string(r.failure->stage), probes::to_string(stage)) << r.failure->detail;
  EXPECT_EQ(probes::to_string(r.failure->reason), probes::to_string(reason)) << r.failure->detail;
}

inline probes::ProbeResult run_probe_sync(probes::ProbeRequest request) {
  boost::asio::io_context io;
  probes::ProbeResult out;
  std::exception_ptr error;
  boost::asio::co_spawn(io, probes::run_probe(request),
                        [&](std::exception_ptr e, probes::ProbeResult r) {
                          error = e;
                          out = std::move(r);
                        });
  io.run();
  if (error) std::rethrow_exception(error);
  return out;
}

inline probes::ProbeResult probe_port(std::uint16_t port, config::Module module = test_module(),
                                      std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                      std::string host = "127.0.0.1") {
  probes::ProbeRequest request;
  request.host = std::move(host);
  request.port = port;
  request.module = std::move(module);
  request.timeout = timeout;
  return run_probe_sync(std::move(request));
}

}  // namespace smtp_exporter::testing
