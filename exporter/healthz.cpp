#include "healthz.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "text.h"

namespace smtp_exporter::exporter {
namespace {

using probes::Health;

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string quoted(std::string_view s) { return "\"" + json_escape(s) + "\""; }

std::string data_of(const TargetStatus& t) {
  std::string out = "{\"target\":" + quoted(t.target.target) + ",\"module\":" + quoted(t.target.module);
  if (!t.last) return out + ",\"probed\":false}";
  const probes::ProbeResult& r = *t.last;
  out += ",\"lastProbe\":" + quoted(rfc3339(t.finished_at)) + ",\"success\":" + (r.success ? "true" : "false");
  if (r.banner_latency_seconds) out += ",\"bannerLatencySeconds\":" + number(*r.banner_latency_seconds);
  if (r.tls && r.tls->leaf_days_to_expiry) out += ",\"daysToExpiry\":" + number(*r.tls->leaf_days_to_expiry);
  if (r.mx) out += ",\"mxRecordCount\":" + std::to_string(r.mx->records.size()) +
                   ",\"mxReachable\":" + std::to_string(r.mx->reachable);
  if (r.failure)
    out += ",\"failureStage\":" + quoted(probes::to_string(r.failure->stage)) +
           ",\"failureReason\":" + quoted(probes::to_string(r.failure->reason));
  return out + "}";
}

}  // namespace

std::string describe(const probes::ProbeResult& r, std::uint16_t port) {
  if (!r.health.findings.empty()) return r.health.findings.front();
  if (r.mx) {
    std::string names;
    for (std::size_t i = 0; i < r.mx->records.size() && i < 3; ++i)
      names += (i ? ", " : "") + r.mx->records[i].exchange;
    return "MX lookup found " + std::to_string(r.mx->records.size()) + " record(s) (" + names + "), " +
           std::to_string(r.mx->reachable) + " reachable; the most preferred works";
  }
  std::string text = "SMTP server accepting connections on port " + std::to_string(port);
  if (r.tls && r.tls->leaf_days_to_expiry)
    text += " (" + r.tls->version + ", certificate valid for " +
            std::to_string(static_cast<int>(std::floor(*r.tls->leaf_days_to_expiry))) + " more days)";
  return text;
}

HealthReport health_report(const std::vector<TargetStatus>& targets) {
  Health overall = Health::healthy;
  double total_ms = 0;
  std::string checks;
  for (const auto& t : targets) {
    Health status = t.last ? t.last->health.status : Health::degraded;
    overall = std::max(overall, status);
    double ms = t.last ? t.last->duration_seconds * 1000 : 0;
    total_ms = std::max(total_ms, ms);  // the checks run concurrently
    std::string description = "not probed yet";
    if (t.last) description = describe(*t.last, t.port);
    std::string tags = "[\"smtp\"," + quoted(t.target.module);
    if (t.last && t.last->tls_established) tags += ",\"tls\"";
    if (t.last && t.last->mx) tags += ",\"mx\"";
    tags += "]";
    checks += std::string(checks.empty() ? "" : ",") + "{\"name\":" + quoted(t.target.name) +
              ",\"status\":" + quoted(probes::title(status)) + ",\"duration\":" + number(ms) +
              ",\"description\":" + quoted(description) + ",\"tags\":" + tags + ",\"data\":" + data_of(t) + "}";
  }
  return {overall == Health::unhealthy ? 503 : 200,
          "{\"status\":" + quoted(probes::title(overall)) + ",\"totalDuration\":" + number(total_ms) + ",\"checks\":[" +
              checks + "]}\n"};
}

}  // namespace smtp_exporter::exporter
