// /healthz: the agent's targets as one health report, in the JSON shape of
// ASP.NET Core health checks, for Docker HEALTHCHECK and Kubernetes probes.
#pragma once

#include <string>
#include <vector>

#include "agent/agent.h"
#include "smtp_exporter/report.h"

namespace smtp_exporter::exporter {

struct HealthReport {
  int http_status = 200;  // 503 when Unhealthy
  std::string json;
};

// {"status":"Healthy|Degraded|Unhealthy","totalDuration":ms,"checks":[{"name",
// "status","duration":ms,"description","tags":[..],"data":{..}}]}; the overall
// status is the worst check's. A target not probed yet counts as Degraded.
HealthReport health_report(const std::vector<TargetStatus>& targets);

// One sentence on what a result found ("SMTP server accepting connections on
// port 587", "certificate of mail.example.com expires in 9 days").
std::string describe(const probes::ProbeResult& result, std::uint16_t port);
// The same, from the units' report of the result (probes::report).
std::string describe(const probes::ProbeResult& result, const probes::Report& report, std::uint16_t port);

}  // namespace smtp_exporter::exporter
