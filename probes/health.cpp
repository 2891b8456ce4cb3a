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

Health failure_severity(const Failure& f) {
  using R = FailureReason;
  // No default: a new reason does not compile until it is given its severity (-Wswitch).
  switch (f.reason) {
    // Connected, but what answered is not an SMTP server (wrong port, another
    // service): reachable, so degraded rather than down.
    case R::protocol_error: return f.stage == Stage::banner ? Health::degraded : Health::unhealthy;
    // The mail arrives, in the Junk folder: delivered, but distrusted.
    case R::delivered_to_junk: return Health::degraded;
    case R::nxdomain: case R::nodata: case R::servfail: case R::dns_error: case R::refused: case R::unreachable:
    case R::connection_error: case R::timeout: case R::closed: case R::unexpected_code: case R::null_mx:
    case R::no_reachable_mx: case R::not_offered: case R::tls_error: case R::certificate_error:
    case R::plaintext_auth_refused: case R::auth_error: case R::temporary_failure: case R::permanent_failure:
    case R::dane_mismatch: case R::dnssec_bogus: case R::tlsa_lookup_error: case R::imap_connect: case R::imap_auth:
    case R::imap_error: case R::not_delivered: case R::txt_missing: case R::txt_invalid: case R::policy_fetch_error:
    case R::policy_certificate_error: case R::policy_http_status: case R::policy_content_type:
    case R::policy_too_large: case R::policy_invalid:
      return Health::unhealthy;
  }
  return Health::unhealthy;
}

HealthVerdict classify_health(const ProbeResult& r, const config::Module& module) {
  HealthVerdict v;
  if (r.failure) {
    const Failure& f = *r.failure;
    worsen(v, failure_severity(f), "",
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
