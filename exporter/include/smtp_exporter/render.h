// ProbeResult → Prometheus text exposition. Pure: same result, same text.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "smtp_exporter/config.h"
#include "smtp_exporter/probe_result.h"

namespace smtp_exporter::exporter {

// The metrics of one probe (text format 0.0.4).
std::string render_metrics(const probes::ProbeResult& result);

// The metrics of several results in one exposition, each result's series
// carrying its labels (agent mode: target_name and the target's labels).
struct LabelledResult {
  std::map<std::string, std::string> labels;
  const probes::ProbeResult* result;
};
std::string render_labelled(const std::vector<LabelledResult>& results);

// The `&debug=true` page: the probe's step-by-step log, then its metrics, then
// the module it ran with (blackbox_exporter's layout).
std::string render_debug(const probes::ProbeResult& result, const std::string& metrics,
                         const std::string& module_name, const config::Module& module);

}  // namespace smtp_exporter::exporter
