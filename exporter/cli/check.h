// `smtp_exporter check TARGET [flags]`: one probe, run at once, and a doctor
// report of what it found (views/check_report.h), as text or JSON.
//
// The flags are pure functions (unit tested); run_check() wires them to the
// configuration, a real probe and the report.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "smtp_exporter/probe_result.h"

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

int exit_code(probes::Health health);

// The whole command: flags → configuration → probe → report on `out`;
// usage and configuration errors on `err`. Returns the exit code.
int run_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace smtp_exporter::exporter
