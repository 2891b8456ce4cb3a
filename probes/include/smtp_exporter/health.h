// Health of a probe result in three states, as health-check endpoints report
// it (healthy / degraded / unhealthy), with the findings that decided it.
// Pure: the same result and module give the same verdict.
#pragma once

#include <string>
#include <vector>

#include "smtp_exporter/config.h"
#include "smtp_exporter/probe_result.h"

namespace smtp_exporter::probes {

// Unhealthy: DNS failure, connection refused or timed out, unexpected
// greeting, TLS failure, expired certificate, any other failure.
// Degraded: a greeting that is not SMTP although TCP connected, a test
// message delivered to Junk (both fail the probe), a slow greeting
// (module.degraded_banner_latency), a certificate expiring within
// module.degraded_cert_days, a domain without MX records (implicit MX).
HealthVerdict classify_health(const ProbeResult& result, const config::Module& module);

// How bad a failed probe is: unhealthy, or degraded for the two failures
// above. The one place that decides it (a switch over every reason).
Health failure_severity(const Failure& failure);

}  // namespace smtp_exporter::probes
