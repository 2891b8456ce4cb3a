// `smtp_exporter check TARGET [flags]`: one probe, run at once, and a doctor
// report of what it found (stages, facts, health findings, and what to do
// about a failure or a degraded finding), as text or JSON.
//
// The flags, the report model and its printing are pure functions (unit
// tested); run_check() wires them to the configuration and a real probe.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "smtp_exporter/config.h"
#include "smtp_exporter/probe_result.h"
#include "views/remediation.h"

namespace smtp_exporter::exporter {

// Exit codes of the check command.
constexpr int kCheckHealthy = 0;
constexpr int kCheckDegraded = 1;
constexpr int kCheckUnhealthy = 2;
constexpr int kCheckUsageError = 3;  // bad flag, unknown module, invalid target, bad configuration

struct CheckOptions {
  std::string target;       // as given: HOST[:PORT], [IPv6]:PORT, mx:DOMAIN
  std::string module;       // empty: smtp_banner if present, else the only module
  std::string config_file;  // empty: the built-in modules
  bool json = false;        // --output json
  std::optional<std::chrono::milliseconds> timeout;  // overrides the module's
  std::string hostname;     // TLS verification name (as &hostname= on /probe)
  bool remediation_markdown = false;  // print docs/troubleshooting.md and exit
  bool help = false;
};

// The arguments after "check". nullopt with a one-line `error` on a bad flag,
// a bad value, or a missing or extra TARGET.
std::optional<CheckOptions> parse_check_flags(const std::vector<std::string>& args, std::string& error);
std::string check_usage();

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

int exit_code(probes::Health health);

std::string render_check_text(const CheckReport& report);
std::string render_check_json(const CheckReport& report);  // one JSON object, newline-terminated

// The whole command: flags → configuration → probe → report on `out`;
// usage and configuration errors on `err`. Returns the exit code.
int run_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace smtp_exporter::exporter
