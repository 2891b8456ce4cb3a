// Every JSON the exporter writes (/healthz, JSON log lines, `check --output
// json`) is built as a nlohmann::ordered_json (keys stay in insertion order)
// and written by dump() here.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "smtp_exporter/report.h"

namespace smtp_exporter::exporter::json {

using Value = nlohmann::ordered_json;

// Compact, one line. Invalid UTF-8 becomes U+FFFD instead of throwing:
// strings may carry what a server sent.
std::string dump(const Value& value);

// `value` with the digits printf's `format` ("%.2f", "%.9g") would keep
// (smtp_exporter/report.h: the check units write their numbers with it too).
using probes::rounded;

}  // namespace smtp_exporter::exporter::json
