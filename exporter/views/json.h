// Every JSON the exporter writes (/healthz, JSON log lines, `check --output
// json`) is built as a nlohmann::ordered_json (keys stay in insertion order)
// and written by dump() here.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace smtp_exporter::exporter::json {

using Value = nlohmann::ordered_json;

// Compact, one line. Invalid UTF-8 becomes U+FFFD instead of throwing:
// strings may carry what a server sent.
std::string dump(const Value& value);

// `value` with the digits printf's `format` ("%.2f", "%.9g") would keep. The
// number is written in its shortest form that reads back the same (12.3,
// not 12.30); an integral value is written as an integer (10, not 10.0).
// Not finite: null.
Value rounded(double value, const char* format);

}  // namespace smtp_exporter::exporter::json
