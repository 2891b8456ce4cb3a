// One host (or one address of it): the session units of the pipeline over
// one SMTP session (greylisting retries start it again), then the host units.
// Used by run_probe (probe.cpp) for a single target, and through
// CheckContext::probe_host by the MX fan-out for each MX address.
#pragma once

#include "smtp_exporter/deadline.h"
#include "smtp_exporter/probe.h"

namespace smtp_exporter::probes {

boost::asio::awaitable<ProbeResult> run_host_probe(const ProbeRequest& request, const Deadline& deadline);

}  // namespace smtp_exporter::probes
