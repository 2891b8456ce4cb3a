// The report of `smtp_exporter check`: stages, facts, health findings, and what
// to do about a failure or a degraded finding, built from one probe's result
// and printed as text or JSON. Pure functions (unit tested).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smtp_exporter/config.h"
#include "smtp_exporter/probe_result.h"
#include "smtp_exporter/report.h"
#include "views/remediation.h"

namespace smtp_exporter::exporter {

// What was probed, as the report names it.
struct CheckSubject {
  std::string target;       // as given
  std::string host;         // host or mail domain, without port or "mx:"
  std::uint16_t port = 25;  // the port used
  bool mx = false;
  std::string module_name;
  config::Module module;
  std::string server_name;  // --hostname; empty: tls_config.server_name or the host
  std::string config_file;  // --config.file, for the "check again" command
};

struct CheckStage {
  std::string name;  // probe_smtp_duration_seconds' phase
  double seconds = 0;
  bool ok = true;
  std::string outcome;  // "ok", or "REASON: detail" for the stage that failed
};

struct CheckRemediation {
  std::string key;
  std::string title;
  std::vector<std::string> causes, fixes, docker, kubernetes;  // placeholders filled in
};

// The report model: everything the text and JSON outputs print.
struct CheckReport {
  CheckSubject subject;
  probes::ProbeResult result;  // without its log
  std::vector<CheckStage> stages;
  std::vector<CheckRemediation> remediation;
  std::string recheck;  // the command that runs this check again
};

CheckReport build_report(const CheckSubject& subject, probes::ProbeResult result);
// The values that fill the remediation texts for this probe.
RemediationContext remediation_context(const CheckSubject& subject, const probes::ProbeResult& result);

std::string render_check_text(const CheckReport& report);
std::string render_check_json(const CheckReport& report);  // one JSON object, newline-terminated

// Server-supplied text made safe for a terminal and for JSON (smtp_exporter/report.h).
using probes::safe_text;

}  // namespace smtp_exporter::exporter
