// One host (or one address of it): the SMTP session of smtp_probe.cpp, then
// the check units the module enables. Used by run_probe (probe.cpp) for a
// single target and by the MX fan-out (mx_probe.cpp) for each MX address.
#pragma once

#include "smtp_exporter/probe.h"

namespace smtp_exporter::probes {

boost::asio::awaitable<ProbeResult> run_host_probe(const ProbeRequest& request);

}  // namespace smtp_exporter::probes
