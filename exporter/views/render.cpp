// Metric names follow blackbox_exporter where the meaning is the same
// (probe_success, probe_duration_seconds, probe_ip_protocol, ...), so existing
// dashboards and alerts keep working; SMTP specifics are probe_smtp_*.
// Every name is documented in docs/metrics.md.
#include "smtp_exporter/render.h"

#include <prometheus/labels.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <deque>
#include <iterator>
#include <string_view>

#include "smtp_exporter/check.h"
#include "views/text.h"

namespace smtp_exporter::exporter {
namespace {

// The gauges of one probe, collected straight into the MetricFamily values
// that prometheus-cpp's TextSerializer formats. A Registry per probe did the
// same with twice the CPU (bench/: half of a plain probe's instructions went
// to building and hashing it); this keeps its rules: a name used again is the
// same family, a label set added again is the same series, the constant
// `labels` come first on every series, and a family without series is left
// out.
class Metrics {
 public:
  class Family {
   public:
    Family(prometheus::MetricFamily& family, const prometheus::Labels& constant)
        : family_(family), constant_(constant) {}
    struct Series {
      prometheus::ClientMetric& metric;
      void Set(double value) { metric.gauge.value = value; }
    };
    Series Add(const prometheus::Labels& labels) {
      std::vector<prometheus::ClientMetric::Label> all;
      all.reserve(constant_.size() + labels.size());
      for (const auto& [name, value] : constant_) all.push_back({name, value});
      for (const auto& [name, value] : labels) all.push_back({name, value});
      for (auto& metric : family_.metric)
        if (metric.label == all) return {metric};
      family_.metric.emplace_back().label = std::move(all);
      return {family_.metric.back()};
    }

   private:
    prometheus::MetricFamily& family_;
    const prometheus::Labels& constant_;
  };

  explicit Metrics(prometheus::Labels labels = {}) : labels_(std::move(labels)) {}
  // `help` is copied only when the family is new: most names come back once
  // per label set.
  Family family(std::string_view name, std::string_view help) {
    for (auto& f : families_)
      if (f.name == name) return {f, labels_};
    families_.push_back({std::string(name), std::string(help), prometheus::MetricType::Gauge, {}});
    return {families_.back(), labels_};
  }
  void set(std::string_view name, std::string_view help, double value) { family(name, help).Add({}).Set(value); }
  // Moved out, not copied: a probe's families are formatted once.
  std::vector<prometheus::MetricFamily> take_families() {
    std::vector<prometheus::MetricFamily> out;
    out.reserve(families_.size());
    for (auto& f : families_)
      if (!f.metric.empty()) out.push_back(std::move(f));
    families_.clear();
    return out;
  }

 private:
  prometheus::Labels labels_;
  std::deque<prometheus::MetricFamily> families_;  // a deque: handles keep pointing at their family
};

// Facts of the conversation as a whole (any reply can carry them), not of one unit.
void render_conversation(Metrics& m, const probes::ProbeResult& r) {
  if (!r.enhanced_status_code.empty())
    m.family("probe_smtp_enhanced_status_code_info",
             "RFC 3463 enhanced status code of the last reply that carried one.")
        .Add({{"code", r.enhanced_status_code}})
        .Set(1);
  if (r.attempts)
    m.set("probe_smtp_attempts", "Conversations run by this probe: 1, more when a 4xx reply was retried.",
          *r.attempts);
}

}  // namespace

namespace {

// The check units' series (smtp_exporter/check.h): the probe's, and each MX
// host address' (its host units) with its `mx` and `ip` labels.
void render_checks(Metrics& m, const probes::ProbeResult& r) {
  auto add = [&](const std::vector<probes::Series>& series, const prometheus::Labels& extra) {
    for (const auto& s : series) {
      prometheus::Labels labels = extra;
      for (const auto& [name, value] : s.labels) labels.emplace(name, value);
      m.family(s.name, s.help).Add(labels).Set(s.value);
    }
  };
  add(probes::check_series(r), {});
  for (const auto& h : r.mx_hosts) add(probes::check_series(h.result, true), {{"mx", h.exchange}, {"ip", h.ip}});
}

void fill(Metrics& m, const probes::ProbeResult& r) {
  using probes::Stage;
  m.set("probe_success", "Whether the probe succeeded (1) or failed (0).", r.success ? 1 : 0);
  m.set("probe_duration_seconds", "How long the probe took to complete in seconds.", r.duration_seconds);
  m.set("probe_timeout_seconds", "The deadline applied to this probe in seconds.", r.timeout_seconds);
  m.set("probe_ip_protocol", "IP protocol used for the probe: 4, 6, or 0 when no address was chosen.",
        r.ip_protocol.value_or(0));
  m.set("probe_dns_lookup_time_seconds", "Time spent on DNS (MX and address lookups) in seconds.",
        r.seconds_in(Stage::resolve).value_or(0) + r.seconds_in(Stage::mx).value_or(0));

  auto phases = m.family("probe_smtp_duration_seconds", "Duration of each SMTP probe phase in seconds.");
  for (const auto& [stage, seconds] : r.stage_seconds)
    phases.Add({{"phase", std::string(probes::to_string(stage))}}).Set(seconds);

  if (r.last_code) m.set("probe_smtp_status_code", "Code of the last SMTP reply received.", *r.last_code);
  render_conversation(m, r);
  render_checks(m, r);

  // A state set: exactly one of the three is 1.
  auto health = m.family("probe_smtp_health", "Health of the probed service: healthy, degraded or unhealthy.");
  for (auto state : {probes::Health::healthy, probes::Health::degraded, probes::Health::unhealthy})
    health.Add({{"status", std::string(probes::to_string(state))}}).Set(r.health.status == state ? 1 : 0);

  if (r.failure)
    m.family("probe_smtp_failure_info", "The stage and reason of a failed probe; absent on success.")
        .Add({{"stage", std::string(probes::to_string(r.failure->stage))},
              {"reason", std::string(probes::to_string(r.failure->reason))}})
        .Set(1);
}

}  // namespace

std::string render_metrics(const probes::ProbeResult& r) {
  Metrics m;
  fill(m, r);
  return prometheus::TextSerializer().Serialize(m.take_families());
}

std::string render_labelled(const std::vector<LabelledResult>& results) {
  // One family per name across all results: the text format allows a name's
  // HELP/TYPE block only once.
  std::vector<prometheus::MetricFamily> merged;
  std::map<std::string, std::size_t> index;
  for (const auto& [labels, result] : results) {
    Metrics m(prometheus::Labels(labels.begin(), labels.end()));
    fill(m, *result);
    for (auto& family : m.take_families()) {
      auto [it, fresh] = index.emplace(family.name, merged.size());
      if (fresh) {
        merged.push_back(std::move(family));
      } else {
        auto& into = merged[it->second].metric;
        into.insert(into.end(), std::make_move_iterator(family.metric.begin()),
                    std::make_move_iterator(family.metric.end()));
      }
    }
  }
  return prometheus::TextSerializer().Serialize(merged);
}


std::string render_debug(const probes::ProbeResult& result, const std::string& metrics,
                         const std::string& module_name, const config::Module& module) {
  using Kind = probes::LogEntry::Kind;
  std::string out = "Logs for the probe:\n";
  for (const auto& entry : result.log) {
    std::string_view level = entry.kind == Kind::error ? "error" : entry.kind == Kind::info ? "info" : "debug";
    out += "ts=" + rfc3339(entry.at) + " level=" + std::string(level);
    switch (entry.kind) {
      case Kind::sent: out += " msg=" + logfmt_value("> " + entry.text); break;
      case Kind::received: out += " msg=" + logfmt_value("< " + entry.text); break;
      default: out += " msg=" + logfmt_value(entry.text);
    }
    out += "\n";
  }
  out += "\n\nMetrics that would have been returned:\n" + metrics;
  out += "\n\nModule configuration:\n" + config::to_toml(module_name, module);
  return out;
}

}  // namespace smtp_exporter::exporter
