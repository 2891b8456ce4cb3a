#include "smtp_exporter/health.h"

#include "smtp_exporter/check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

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

void worsen(HealthVerdict& v, Health h, std::string finding) {
  if (h > v.status) {
    v.status = h;
    v.findings.insert(v.findings.begin(), std::move(finding));
  } else {
    v.findings.push_back(std::move(finding));
  }
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3gs", s);
  return buf;
}

}  // namespace

HealthVerdict classify_health(const ProbeResult& r, const config::Module& module) {
  HealthVerdict v;
  if (r.failure) {
    const Failure& f = *r.failure;
    // Connected, but what answered is not an SMTP server (wrong port, another
    // service): reachable, so degraded rather than down.
    bool not_smtp = f.stage == Stage::banner && f.reason == FailureReason::protocol_error;
    worsen(v, not_smtp ? Health::degraded : Health::unhealthy,
           std::string(to_string(f.stage)) + " failed (" + std::string(to_string(f.reason)) + "): " + f.detail);
  }
  // An expired certificate is unhealthy even when verification is skipped.
  auto tls_of = [&](const ProbeResult& p) { return p.tls ? &*p.tls : nullptr; };
  std::vector<const TlsInfo*> sessions{tls_of(r)};
  for (const auto& h : r.mx_hosts) sessions.push_back(tls_of(h.result));
  for (const TlsInfo* tls : sessions) {
    if (!tls || !tls->leaf_days_to_expiry) continue;
    double days = *tls->leaf_days_to_expiry;
    bool expired = days < 0 || std::find(tls->verify_errors.begin(), tls->verify_errors.end(), "expired") !=
                                   tls->verify_errors.end();
    if (expired) {
      worsen(v, Health::unhealthy, "certificate of " + tls->server_name + " has expired");
    } else if (days < module.degraded_cert_days) {
      worsen(v, Health::degraded, "certificate of " + tls->server_name + " expires in " +
                                      std::to_string(static_cast<int>(std::floor(days))) + " days");
    }
  }
  double limit = std::chrono::duration<double>(module.degraded_banner_latency).count();
  if (r.banner_latency_seconds && limit > 0 && *r.banner_latency_seconds > limit)
    worsen(v, Health::degraded, "greeting took " + seconds_text(*r.banner_latency_seconds) + " (more than " +
                                    seconds_text(limit) + ")");
  if (r.mx && r.mx->implicit)
    worsen(v, Health::degraded, "the domain has no MX records; mail goes to its own address (implicit MX)");
  // The check units' findings, the host's and every MX host's.
  for (const Finding& f : check_findings(r)) worsen(v, f.severity, f.text);
  for (const auto& h : r.mx_hosts)
    for (const Finding& f : check_findings(h.result)) worsen(v, f.severity, h.exchange + " (" + h.ip + "): " + f.text);
  return v;
}

}  // namespace smtp_exporter::probes
