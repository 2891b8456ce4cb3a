// Escaping for the formats the exporter writes: JSON, logfmt, HTML.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace smtp_exporter::exporter {

std::string json_escape(std::string_view text);    // without the surrounding quotes
std::string logfmt_value(std::string_view text);   // quoted only when needed
std::string html_escape(std::string_view text);
// RFC 3339 UTC with milliseconds: 2026-11-23T14:23:28.123Z
std::string rfc3339(std::chrono::system_clock::time_point t);

}  // namespace smtp_exporter::exporter
