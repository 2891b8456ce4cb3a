// The exporter's own metrics, served on /metrics: build info, probe counts and
// durations per module, in-flight probes and their limit, config reloads, HTTP requests, and
// the process metrics (CPU, memory, file descriptors) read from /proc.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>
#include <vector>

#include "smtp_exporter/check.h"

namespace smtp_exporter::exporter {

class SelfMetrics {
 public:
  SelfMetrics();

  void probe_finished(const std::string& module, bool success, double seconds);
  prometheus::Gauge& in_flight() { return in_flight_; }
  void probe_limit(std::size_t max_concurrent_probes);
  void probe_rejected();  // a /probe answered 503: max_concurrent_probes were running
  void config_loaded(bool success);
  void http_request(const std::string& handler, int code);

  // Exposition text of everything above plus the process metrics.
  std::string render() const;

 private:
  prometheus::Registry registry_;
  prometheus::Family<prometheus::Counter>& probes_;
  prometheus::Family<prometheus::Histogram>& probe_duration_;
  prometheus::Gauge& in_flight_;
  prometheus::Gauge& probe_limit_;
  prometheus::Counter& probes_rejected_;
  prometheus::Gauge& reload_success_;
  prometheus::Gauge& reload_timestamp_;
  prometheus::Family<prometheus::Counter>& http_requests_;
};

// Adds check-unit series (gauges, counters, histograms) to `registry`, each
// with `labels` before its own (the unit's process-wide series; an agent
// target's totals with its target_name and labels).
void add_series(prometheus::Registry& registry, const std::vector<probes::Series>& series,
                const prometheus::Labels& labels = {});

// process_* metrics of the Prometheus client conventions, from /proc/self.
std::vector<prometheus::MetricFamily> collect_process_metrics();

}  // namespace smtp_exporter::exporter
