#include "core/runtime.h"

#include <algorithm>

#include "core/host_name.h"
#include "core/open_files.h"
#include "smtp_exporter/probe_query.h"
#include "smtp_exporter/tls_context.h"
#include "views/text.h"

namespace smtp_exporter::exporter {

std::shared_ptr<const Runtime> Runtime::build(config::Config config, bool tls_now) {
  auto runtime = std::make_shared<Runtime>();
  // EHLO needs a name; modules that give none use this host's FQDN (or,
  // without one, the probe's address literal).
  std::string fqdn_name;
  bool looked_up = false;
  for (auto& [name, module] : config.modules) {
    if (module.ehlo_name.empty()) {
      if (!looked_up) fqdn_name = fqdn(), looked_up = true;
      module.ehlo_name = fqdn_name;
    }
    if (module.tls == config::TlsMode::none) continue;
    // Modules with the same tls_config share one context: each context holds
    // its own copy of the CA store (the system's is ~150 certificates).
    auto same = std::find_if(runtime->tls.begin(), runtime->tls.end(), [&](const auto& built) {
      return config.modules.at(built.first).tls_config == module.tls_config;
    });
    // Built on first use (probes/tls.h), unless a setting only OpenSSL can
    // judge is there to be judged now: a cipher list, a client certificate
    // and its key (do they match?); everything for --config.check. The
    // config loader has seen that every file can be read.
    bool now = tls_now || !module.tls_config.ciphers.empty() || !module.tls_config.cert_file.empty();
    try {
      runtime->tls.emplace(name, same != runtime->tls.end() ? same->second
                                                            : probes::make_tls_context(module.tls_config, now));
    } catch (const std::exception& e) {
      throw std::runtime_error(config.source + ": modules." + name + ".tls_config: " + e.what());
    }
  }
  runtime->max_concurrent_probes = exporter::max_concurrent_probes(config.limits);
  runtime->config = std::move(config);
  for (std::size_t i = 0; i < runtime->config.targets.size(); ++i) {
    const auto& t = runtime->config.targets[i];
    std::string error;
    if (!runtime->request(t.module, t.target, "", error))
      throw std::runtime_error(t.where + ": targets[" + std::to_string(i) + "].target: " + error);
  }
  return runtime;
}

std::optional<probes::ProbeRequest> Runtime::request(const std::string& module_name, std::string_view target_text,
                                                     const std::string& server_name, std::string& error,
                                                     std::optional<std::chrono::milliseconds> deadline) const {
  auto module = config.modules.find(module_name);
  if (module == config.modules.end()) {
    error = "unknown module \"" + json_escape(module_name) + "\"";
    return std::nullopt;
  }
  // "mx:DOMAIN" (or a module with mx = true): the target is a mail domain.
  bool mx = module->second.mx || target_text.starts_with("mx:");
  if (target_text.starts_with("mx:")) target_text.remove_prefix(3);
  auto target = parse_target(target_text, error);
  if (!target) {
    error = "invalid target: " + error;
    return std::nullopt;
  }
  probes::ProbeRequest request;
  request.host = target->host;
  request.port = target->port.value_or(module->second.port);
  request.module = module->second;
  request.timeout = deadline.value_or(module->second.timeout);
  if (auto tls = this->tls.find(module_name); tls != this->tls.end()) request.tls_context = tls->second;
  request.server_name = server_name;
  request.mx = mx;
  return request;
}

}  // namespace smtp_exporter::exporter
