// A configuration together with what is built from it once (the TLS client
// contexts), and the one way to turn a target and a module into a probe
// request, shared by /probe, the agent and the check command.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "smtp_exporter/config.h"
#include "smtp_exporter/probe.h"

namespace smtp_exporter::exporter {

struct Runtime {
  config::Config config;
  std::map<std::string, std::shared_ptr<probes::TlsContext>> tls;
  // /probe requests that may run at once ([limits], or sized for the machine).
  std::size_t max_concurrent_probes = 1;

  // Fills in EHLO names, makes the TLS contexts (built on first use, or now
  // with `tls_now`: --config.check) and checks the targets of [[targets]].
  // Throws std::runtime_error with the place and the reason.
  static std::shared_ptr<const Runtime> build(config::Config config, bool tls_now = false);

  // The request to probe `target` ("HOST[:PORT]" or "mx:DOMAIN") with the
  // module `module_name`; nullopt with a one-line error. Its deadline is set
  // here and nowhere else: `deadline` when the caller has one (the scrape's
  // budget, the agent's interval, check --timeout), else the module's timeout.
  std::optional<probes::ProbeRequest> request(const std::string& module_name, std::string_view target,
                                              const std::string& server_name, std::string& error,
                                              std::optional<std::chrono::milliseconds> deadline = {}) const;
};

}  // namespace smtp_exporter::exporter
