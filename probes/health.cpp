#include "smtp_exporter/health.h"

#include "smtp_exporter/check.h"

#include <algorithm>

namespace smtp_exporter::probes {

std::string_view to_string(Health h) {
  switch (h) {
    case Health::healthy: return "healthy";
    case Health::degraded: return "degraded";
    case Health::unhealthy: return "unhealthy";
  }
  return "unhealthy";
}

std::string_view title(Health h) {
  switch (h) {
    case Health::healthy: return "Healthy";
    case Health::degraded: return "Degraded";
    case Health::unhealthy: return "Unhealthy";
  }
  return "Unhealthy";
}

namespace {

// Worst first: a finding worse than all before it goes to the front.
void worsen(HealthVerdict& v, Health h, std::string key, std::string finding) {
  Finding entry{std::move(key), h, finding};
  if (h > v.status) {
    v.status = h;
    v.findings.insert(v.findings.begin(), std::move(finding));
    v.entries.insert(v.entries.begin(), std::move(entry));
  } else {
    v.findings.push_back(std::move(finding));
    v.entries.push_back(std::move(entry));
  }
}

}  // namespace

HealthVerdict classify_health(const ProbeResult& r, const config::Module& module) {
  HealthVerdict v;
  if (r.failure) {
    const Failure& f = *r.failure;
    // Connected, but what answered is not an SMTP server (wrong port, another
    // service): reachable, so degraded rather than down.
    bool not_smtp = f.stage == Stage::banner && f.reason == FailureReason::protocol_error;
    worsen(v, not_smtp ? Health::degraded : Health::unhealthy, "",
           std::string(to_string(f.stage)) + " failed (" + std::string(to_string(f.reason)) + "): " + f.detail);
  }
  // The check units' findings, the host's and every MX host's.
  for (const Finding& f : check_findings(r, module)) worsen(v, f.severity, f.key, f.text);
  for (const auto& h : r.mx_hosts)
    for (const Finding& f : check_findings(h.result, module, true))
      worsen(v, f.severity, f.key, h.exchange + " (" + h.ip + "): " + f.text);
  return v;
}

}  // namespace smtp_exporter::probes
