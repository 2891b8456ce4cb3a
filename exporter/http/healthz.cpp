#include "http/healthz.h"

#include <algorithm>
#include <cmath>

#include "views/json.h"
#include "views/text.h"

namespace smtp_exporter::exporter {
namespace {

using probes::Health;

// The units' report of a result. /healthz's fields and notes are facts of
// the result alone: a module's settings only shape the `check` text.
probes::Report units_report(const probes::ProbeResult& r) {
  static const config::Module no_module;
  return probes::report(r, no_module);
}

// Durations (milliseconds), latencies and days with two decimals at most.
json::Value two_decimals(double v) { return json::rounded(v, "%.2f"); }

json::Value data_of(const TargetStatus& t, probes::Report* report) {
  json::Value out{{"target", t.target.target}, {"module", t.target.module}};
  if (!t.target.description.empty()) out["description"] = t.target.description;
  if (!t.target.labels.empty()) out["labels"] = t.target.labels;
  if (!t.last) {
    out["probed"] = false;
    return out;
  }
  const probes::ProbeResult& r = *t.last;
  out["lastProbe"] = rfc3339(t.finished_at);
  out["success"] = r.success;
  if (r.failure) {
    out["failureStage"] = probes::to_string(r.failure->stage);
    out["failureReason"] = probes::to_string(r.failure->reason);
  }
  // Each unit's part (greeting latency, days to expiry, the MX set, the test
  // message, ...), in registry order.
  for (auto& [key, value] : report->healthz.items()) out[key] = std::move(value);
  return out;
}

}  // namespace

std::string describe(const probes::ProbeResult& r, std::uint16_t port) { return describe(r, units_report(r), port); }

std::string describe(const probes::ProbeResult& r, const probes::Report& report, std::uint16_t port) {
  if (!r.health.findings.empty()) return r.health.findings.front();
  if (!report.summary.empty()) return report.summary;
  std::string text = "SMTP server accepting connections on port " + std::to_string(port);
  if (!report.notes.empty()) text += " (" + probes::join(report.notes, "; ") + ")";
  return text;
}

HealthReport health_report(const std::vector<TargetStatus>& targets) {
  Health overall = Health::healthy;
  double total_ms = 0;
  json::Value checks = json::Value::array();
  for (const auto& t : targets) {
    Health status = t.last ? t.last->health.status : Health::degraded;
    overall = std::max(overall, status);
    double ms = t.last ? t.last->duration_seconds * 1000 : 0;
    total_ms = std::max(total_ms, ms);  // the checks run concurrently
    std::optional<probes::Report> report;
    if (t.last) report = units_report(*t.last);
    std::string description = report ? describe(*t.last, *report, t.port) : "not probed yet";
    json::Value tags = json::Value::array({"smtp", t.target.module});
    if (report)
      for (const auto& tag : report->tags) tags.push_back(tag);
    for (const auto& tag : t.target.tags) tags.push_back(tag);
    checks.push_back({{"name", t.target.name},
                      {"status", probes::title(status)},
                      {"duration", two_decimals(ms)},
                      {"description", description},
                      {"tags", std::move(tags)},
                      {"data", data_of(t, report ? &*report : nullptr)}});
  }
  json::Value report{{"status", probes::title(overall)}, {"totalDuration", two_decimals(total_ms)},
                     {"checks", std::move(checks)}};
  if (targets.empty()) {
    // Nothing is watched: say so rather than look healthy. Degraded (HTTP 200):
    // the exporter itself works, and /probe does not need [[targets]].
    report["status"] = probes::title(Health::degraded);
    report["description"] =
        "no [[targets]] in the configuration: nothing is probed in the background (agent mode, docs/agent.md)";
  }
  return {overall == Health::unhealthy ? 503 : 200, json::dump(report) + "\n"};
}

}  // namespace smtp_exporter::exporter
