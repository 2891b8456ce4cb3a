// The end of every probe, single host or mail domain: success, duration,
// deadline and health, and the verdict's log line.
#pragma once

#include <chrono>

#include "smtp_exporter/probe.h"

namespace smtp_exporter::probes {

void finish(ProbeResult& result, std::chrono::steady_clock::time_point started, const ProbeRequest& request);

}  // namespace smtp_exporter::probes
