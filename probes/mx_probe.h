// Internal entry points of the two kinds of probe, dispatched by run_probe.
#pragma once

#include "smtp_exporter/probe.h"

namespace smtp_exporter::probes {

// One host (or one address of it): the conversation of smtp_probe.cpp.
boost::asio::awaitable<ProbeResult> run_host_probe(const ProbeRequest& request);

// A mail domain: its MX set, then run_host_probe on every address of every
// host at once, and the verdict of the whole (see docs/metrics.md):
// success when a most-preferred reachable MX host works.
boost::asio::awaitable<ProbeResult> run_mx_probe(const ProbeRequest& request);

// Sets success, duration, timeout and health, and logs the verdict.
void finish(ProbeResult& result, std::chrono::steady_clock::time_point started, const ProbeRequest& request);

}  // namespace smtp_exporter::probes
