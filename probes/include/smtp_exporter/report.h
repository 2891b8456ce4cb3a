// What a check unit tells people and programs about its part of a result:
// its facts in the `check` report (text), its fields in the report's JSON
// and in a /healthz check's data. Each unit fills a Report from its own
// facts (Check::report); the views (exporter/views/check_report.cpp,
// exporter/http/healthz.cpp) print what the units filled, in registry order,
// and name none of their facts.
//
// The helpers below are how every unit writes server text, durations, days
// and numbers, so that the report reads the same throughout.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "smtp_exporter/config.h"
#include "smtp_exporter/probe_result.h"

namespace smtp_exporter::probes {

// Every JSON the exporter writes keeps its keys in insertion order.
using Json = nlohmann::ordered_json;

// One fact of the text report: "  Label         first line", and each
// further line indented under it.
struct Fact {
  std::string label;
  std::vector<std::string> lines;
};

// What the units report for one probe (probes::report walks them).
struct Report {
  std::vector<Fact> facts;        // `check` text, "Facts:"
  Json check = Json::object();    // fields of `check --output json`
  Json healthz = Json::object();  // fields of a /healthz check's "data"
  // /healthz's description of a working target: a unit that describes the
  // whole probe (the MX set) sets `summary`; others add a note in parentheses
  // to "SMTP server accepting connections on port N".
  std::string summary;
  std::vector<std::string> notes;
  std::vector<std::string> tags;  // /healthz tags after "smtp" and the module ("tls", "mx")
};

// Every unit's report of `result`, in registry order.
Report report(const ProbeResult& result, const config::Module& module);

// Server-supplied text made safe for a terminal and for JSON: valid UTF-8 is
// kept, control characters and invalid bytes become \xNN.
std::string safe_text(std::string_view text);
// "12.3 ms" ("0.123 ms" under a millisecond).
std::string milliseconds_text(double seconds);
// "2026-11-23 14:23:28 UTC".
std::string utc_text(std::int64_t unix_seconds);
// "29 days left", "expired 3 days ago": whole days toward zero (whole_days).
std::string days_left_text(double days);
// "banner failed (timeout): detail".
std::string failure_text(const Failure& failure);
std::string join(const std::vector<std::string>& items, std::string_view separator);

// `value` with the digits printf's `format` ("%.2f", "%.9g") would keep,
// written in its shortest form that reads back the same (12.3, not 12.30);
// an integral value as an integer. Not finite: null.
Json rounded(double value, const char* format);
// Report JSON: server text through safe_text; numbers with 9 significant digits.
Json json_text(std::string_view value);
Json json_texts(const std::vector<std::string>& items);
Json json_number(double value);
Json json_failure(const std::optional<Failure>& failure);  // null, or {stage, reason, detail}

}  // namespace smtp_exporter::probes
