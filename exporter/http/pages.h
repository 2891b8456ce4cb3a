// The human-facing HTML page of the exporter.
#pragma once

#include <string>
#include <vector>

#include "http/history.h"
#include "smtp_exporter/config.h"

namespace smtp_exporter::exporter {

// "/": links to the routes, the modules, and the recent probes. Every link
// starts with `base`: --web.external-url, else the route prefix ("" for "/").
std::string landing_page(const config::Config& config, const std::vector<HistoryEntry>& recent,
                         const std::string& base);

}  // namespace smtp_exporter::exporter
