// A mail domain (probe.cpp dispatches it here): its MX set, then
// run_host_probe on every address of every host at once, and the verdict of
// the whole (see docs/metrics.md): success when a most-preferred reachable MX
// host works.
#pragma once

#include "smtp_exporter/probe.h"

namespace smtp_exporter::probes {

boost::asio::awaitable<ProbeResult> run_mx_probe(const ProbeRequest& request);

}  // namespace smtp_exporter::probes
