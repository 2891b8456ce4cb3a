#include "views/self_metrics.h"

#include <prometheus/histogram.h>
#include <prometheus/text_serializer.h>

#include <chrono>

#include "smtp_exporter/check.h"
#include "smtp_exporter/version.h"

namespace smtp_exporter::exporter {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

SelfMetrics::SelfMetrics()
    : probes_(prometheus::BuildCounter()
                  .Name("smtp_exporter_probes_total")
                  .Help("Probes run, by module and result (success or failure).")
                  .Register(registry_)),
      probe_duration_(prometheus::BuildHistogram()
                          .Name("smtp_exporter_probe_duration_seconds")
                          .Help("Duration of probes in seconds, by module.")
                          .Register(registry_)),
      in_flight_(prometheus::BuildGauge()
                     .Name("smtp_exporter_probes_in_flight")
                     .Help("Probes currently running.")
                     .Register(registry_)
                     .Add({})),
      probe_limit_(prometheus::BuildGauge()
                       .Name("smtp_exporter_probes_max_concurrent")
                       .Help("Probes that may run at once ([limits] max_concurrent_probes, or sized from the "
                             "open-files limit); /probe answers 503 above it.")
                       .Register(registry_)
                       .Add({})),
      probes_rejected_(prometheus::BuildCounter()
                           .Name("smtp_exporter_probes_rejected_total")
                           .Help("Probe requests answered 503 because max_concurrent_probes probes were running.")
                           .Register(registry_)
                           .Add({})),
      reload_success_(prometheus::BuildGauge()
                          .Name("smtp_exporter_config_last_reload_successful")
                          .Help("Whether the last configuration load succeeded.")
                          .Register(registry_)
                          .Add({})),
      reload_timestamp_(prometheus::BuildGauge()
                            .Name("smtp_exporter_config_last_reload_success_timestamp_seconds")
                            .Help("Unix time of the last successful configuration load.")
                            .Register(registry_)
                            .Add({})),
      http_requests_(prometheus::BuildCounter()
                         .Name("smtp_exporter_http_requests_total")
                         .Help("HTTP requests served, by handler and status code.")
                         .Register(registry_)) {
  prometheus::BuildGauge()
      .Name("smtp_exporter_build_info")
      .Help("Build information: version, git revision and compiler; always 1.")
      .Register(registry_)
      .Add({{"version", std::string(kVersion)}, {"revision", std::string(kRevision)}, {"compiler", std::string(kCompiler)}})
      .Set(1);
}

void SelfMetrics::probe_finished(const std::string& module, bool success, double seconds) {
  probes_.Add({{"module", module}, {"result", success ? "success" : "failure"}}).Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                0.5,   1,    2.5,   5,    10,  30};
  probe_duration_.Add({{"module", module}}, kBuckets).Observe(seconds);
}

void SelfMetrics::probe_limit(std::size_t max_concurrent_probes) {
  probe_limit_.Set(static_cast<double>(max_concurrent_probes));
}

void SelfMetrics::probe_rejected() { probes_rejected_.Increment(); }

void SelfMetrics::config_loaded(bool success) {
  reload_success_.Set(success ? 1 : 0);
  if (success) reload_timestamp_.Set(now_seconds());
}

void SelfMetrics::http_request(const std::string& handler, int code) {
  http_requests_.Add({{"handler", handler}, {"code", std::to_string(code)}}).Increment();
}

void add_series(prometheus::Registry& registry, const std::vector<probes::Series>& series,
                const prometheus::Labels& constant) {
  for (const auto& s : series) {
    prometheus::Labels labels = constant;
    for (const auto& [name, value] : s.labels) labels.emplace(name, value);
    if (!s.bucket_bounds.empty())
      prometheus::BuildHistogram()
          .Name(s.name)
          .Help(std::string(s.help))
          .Register(registry)
          .Add(labels, prometheus::Histogram::BucketBoundaries(s.bucket_bounds.begin(), s.bucket_bounds.end()))
          .ObserveMultiple(s.bucket_counts, s.value);
    else if (s.counter)
      prometheus::BuildCounter().Name(s.name).Help(std::string(s.help)).Register(registry).Add(labels).Increment(s.value);
    else
      prometheus::BuildGauge().Name(s.name).Help(std::string(s.help)).Register(registry).Add(labels).Set(s.value);
  }
}

// The check units' process-wide series (a DNSBL zone's health and queries, ...).
std::vector<prometheus::MetricFamily> collect_check_metrics() {
  prometheus::Registry registry;
  add_series(registry, probes::process_series());
  return registry.Collect();
}

std::string SelfMetrics::render() const {
  auto families = registry_.Collect();
  auto checks = collect_check_metrics();
  families.insert(families.end(), checks.begin(), checks.end());
  auto process = collect_process_metrics();
  families.insert(families.end(), process.begin(), process.end());
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace smtp_exporter::exporter
