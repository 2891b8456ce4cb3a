// The human-facing HTML page of the exporter.
#pragma once

#include <string>
#include <vector>

#include "http/history.h"
#include "smtp_exporter/config.h"

namespace smtp_exporter::exporter {

// "/": links to the routes, the modules, and the recent probes.
std::string landing_page(const config::Config& config, const std::vector<HistoryEntry>& recent);

}  // namespace smtp_exporter::exporter
