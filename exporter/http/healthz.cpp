#include "http/healthz.h"

#include <algorithm>
#include <cmath>

#include "views/json.h"
#include "views/text.h"

namespace smtp_exporter::exporter {
namespace {

using probes::Health;

// Durations (milliseconds), latencies and days with two decimals at most.
json::Value two_decimals(double v) { return json::rounded(v, "%.2f"); }

json::Value data_of(const TargetStatus& t) {
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
  if (r.banner_latency_seconds) {
    // Greetings take milliseconds: seconds with two decimals would read 0.
    out["bannerLatencySeconds"] = json::rounded(*r.banner_latency_seconds, "%.6f");
    out["bannerLatencyMs"] = two_decimals(*r.banner_latency_seconds * 1000);
  }
  // Cut, not rounded, like every whole-day count (probes::whole_days): 4.999 is 4.99, "4 days".
  if (r.tls && r.tls->leaf_days_to_expiry)
    out["daysToExpiry"] = two_decimals(std::trunc(*r.tls->leaf_days_to_expiry * 100) / 100);
  if (r.mx) {
    out["mxRecordCount"] = r.mx->records.size();
    if (!r.mx->dns_only) out["mxReachable"] = r.mx->reachable;
  }
  if (r.failure) {
    out["failureStage"] = probes::to_string(r.failure->stage);
    out["failureReason"] = probes::to_string(r.failure->reason);
  }
  // AUTH and the test message: attempts, each retried attempt's error type,
  // the token, the recipients' replies.
  if (r.attempts) {
    out["attempts"] = *r.attempts;
    json::Value errors = json::Value::array();
    for (const auto& f : r.retried) errors.push_back(probes::to_string(f.reason));
    out["attemptErrors"] = std::move(errors);
    if (r.auth_success) out["authenticated"] = *r.auth_success;
    if (!r.recipients.empty()) {
      json::Value recipients = json::Value::array();
      for (const auto& rcpt : r.recipients) recipients.push_back({{"address", rcpt.address}, {"code", rcpt.code}});
      out["recipients"] = std::move(recipients);
    }
    if (!r.message_token.empty()) {
      out["messageToken"] = r.message_token;
      out["messageAccepted"] = r.message_accepted;
    }
  }
  return out;
}

}  // namespace

std::string describe(const probes::ProbeResult& r, std::uint16_t port) {
  if (!r.health.findings.empty()) return r.health.findings.front();
  if (r.mx) {
    std::string names;
    for (std::size_t i = 0; i < r.mx->records.size() && i < 3; ++i)
      names += (i ? ", " : "") + r.mx->records[i].exchange;
    if (r.mx->dns_only) return "MX lookup found " + std::to_string(r.mx->records.size()) + " record(s) (" + names + ")";
    return "MX lookup found " + std::to_string(r.mx->records.size()) + " record(s) (" + names + "), " +
           std::to_string(r.mx->reachable) + " reachable; the most preferred works";
  }
  std::string text = "SMTP server accepting connections on port " + std::to_string(port);
  if (r.tls && r.tls->leaf_days_to_expiry)
    text += " (" + r.tls->version + ", certificate valid for " +
            std::to_string(probes::whole_days(*r.tls->leaf_days_to_expiry)) + " more days)";
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
    std::string description = "not probed yet";
    if (t.last) description = describe(*t.last, t.port);
    json::Value tags = json::Value::array({"smtp", t.target.module});
    if (t.last && t.last->tls_established) tags.push_back("tls");
    if (t.last && t.last->mx) tags.push_back("mx");
    for (const auto& tag : t.target.tags) tags.push_back(tag);
    checks.push_back({{"name", t.target.name},
                      {"status", probes::title(status)},
                      {"duration", two_decimals(ms)},
                      {"description", description},
                      {"tags", std::move(tags)},
                      {"data", data_of(t)}});
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
