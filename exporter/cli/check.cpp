// `smtp_exporter check`: flags, exit codes, and the command itself
// (configuration, one probe on a private io_context); the report it prints is
// views/check_report.cpp's.
#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include "cli/check.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <ostream>

#include "core/runtime.h"
#include "smtp_exporter/cli.h"
#include "smtp_exporter/probe.h"
#include "smtp_exporter/probe_query.h"
#include "views/check_report.h"

namespace smtp_exporter::exporter {
namespace {

using probes::Health;
using probes::ProbeResult;

// ---- Flags -----------------------------------------------------------------------------

const FlagTable<CheckOptions>& check_flags() {
  static const FlagTable<CheckOptions> flags{
      {"module", "NAME", "Module to probe with. Default: smtp_banner if configured, else the only module.",
       [](CheckOptions& o, const std::string& value, std::string& error) {
         if (value.empty()) {
           error = "--module: the module name is empty";
           return false;
         }
         o.module = value;
         return true;
       }},
      string_flag("config.file", "FILE", &CheckOptions::config_file, "TOML configuration file. Default: the built-in modules."),
      {"output", "FORMAT", "Report format: text (default) or json.",
       [](CheckOptions& o, const std::string& value, std::string& error) {
         if (value != "text" && value != "json") {
           error = "--output: \"" + value + "\" is neither text nor json";
           return false;
         }
         o.json = value == "json";
         return true;
       }},
      {"timeout", "DURATION", "Deadline of the probe, e.g. \"30s\". Default: the module's timeout.",
       [](CheckOptions& o, const std::string& value, std::string& error) {
         auto d = config::parse_duration(value);
         if (!d || d->count() <= 0) {
           error = "--timeout: \"" + value + "\" is not a positive duration (e.g. \"10s\", \"500ms\")";
           return false;
         }
         o.timeout = *d;
         return true;
       }},
      {"hostname", "NAME", "Name to verify the certificate against (and send as SNI), as &hostname= on /probe.",
       [](CheckOptions& o, const std::string& value, std::string& error) {
         auto host = parse_target(value, error);
         if (!host || host->port) {
           error = "--hostname: " + (host ? std::string("must not have a port") : error);
           return false;
         }
         o.hostname = host->host;
         return true;
       }},
      switch_flag("remediation-markdown", &CheckOptions::remediation_markdown,
                  "Print every remediation entry as Markdown (docs/troubleshooting.md) and exit."),
      switch_flag("help", &CheckOptions::help, "Show this help and exit."),
  };
  return flags;
}

}  // namespace

// ---- Flags -----------------------------------------------------------------------------

std::optional<CheckOptions> parse_check_flags(const std::vector<std::string>& args, std::string& error) {
  CheckOptions options;
  bool have_target = false;
  auto target = [&](const std::string& arg, std::string& why) {
    if (have_target) {
      why = "unexpected argument \"" + arg + "\" (only one TARGET)";
      return false;
    }
    options.target = arg;
    return have_target = true;
  };
  if (!parse_flag_table(check_flags(), args, options, target, error)) return std::nullopt;
  if (!have_target && !options.help && !options.remediation_markdown) {
    error = "missing TARGET";
    return std::nullopt;
  }
  return options;
}

std::string check_usage() {
  std::string out =
      "usage: smtp_exporter check TARGET [flags]\n"
      "       smtp_exporter check --remediation-markdown\n\n"
      "Probes TARGET once and prints a diagnosis: each stage with its time, what the server said (greeting,\n"
      "extensions, TLS, certificate, MX records), the health findings, and for a failure or a degraded finding\n"
      "the likely causes and how to fix them.\n\n"
      "TARGET is HOST, HOST:PORT, IPv4[:PORT], [IPv6]:PORT, or mx:DOMAIN for a mail domain (its MX hosts).\n\n"
      "Flags:\n";
  out += flag_table_usage(check_flags());
  out +=
      "\nExit codes: 0 healthy, 1 degraded, 2 unhealthy, 3 usage or configuration error.\n"
      "\nExamples:\n"
      "  smtp_exporter check mail.example.com\n"
      "  smtp_exporter check mail.example.com:587 --module submission\n"
      "  smtp_exporter check mx:example.com --module smtp_starttls --output json\n";
  return out;
}

// ---- Exit code -------------------------------------------------------------------------

int exit_code(Health health) {
  switch (health) {
    case Health::healthy: return kCheckHealthy;
    case Health::degraded: return kCheckDegraded;
    case Health::unhealthy: return kCheckUnhealthy;
  }
  return kCheckUnhealthy;
}

// ---- The command -----------------------------------------------------------------------

int run_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto usage_error = [&](const std::string& why) {
    err << "smtp_exporter check: " << why << " (see smtp_exporter check --help)\n";
    return kCheckUsageError;
  };
  std::string error;
  auto options = parse_check_flags(args, error);
  if (!options) return usage_error(error);
  if (options->help) {
    out << check_usage();
    return 0;
  }
  if (options->remediation_markdown) {
    out << remediation_markdown();
    return 0;
  }

  config::Config config;
  try {
    config = options->config_file.empty() ? config::default_config()
                                          : config::load_file(options->config_file, config::Secrets::when_used);
  } catch (const config::ConfigError& e) {
    err << "smtp_exporter check: " << e.what() << "\n";
    return kCheckUsageError;
  }
  std::string module_name = options->module;
  if (module_name.empty()) {
    if (auto fallback = config::default_module(config)) {
      module_name = *fallback;
    } else {
      return usage_error("--module is needed: " + config.source + " has no smtp_banner module and " +
                         std::to_string(config.modules.size()) + " modules");
    }
  }
  auto module = config.modules.find(module_name);
  if (module == config.modules.end())
    return usage_error("unknown module \"" + safe_text(module_name) + "\" in " + config.source);
  // Only the module in use needs its secret (config::Secrets::when_used).
  if (module->second.auth && !module->second.auth->password_error.empty()) {
    err << "smtp_exporter check: " << module->second.auth->password_error << "\n";
    return kCheckUsageError;
  }

  // The same request /probe and the agent build: EHLO name, TLS context, mx: prefix.
  std::shared_ptr<const Runtime> runtime;
  try {
    runtime = Runtime::build(std::move(config));
  } catch (const std::runtime_error& e) {  // e.g. a CA file that is not PEM
    err << "smtp_exporter check: " << e.what() << "\n";
    return kCheckUsageError;
  }
  auto built = runtime->request(module_name, options->target, options->hostname, error, options->timeout);
  if (!built) return usage_error(error);
  probes::ProbeRequest& request = *built;

  CheckSubject subject;
  subject.target = options->target;
  subject.module_name = module_name;
  subject.module = request.module;
  subject.server_name = options->hostname;
  subject.config_file = options->config_file;
  subject.mx = request.mx;
  subject.host = request.host;
  subject.port = request.port;

  boost::asio::io_context io;
  ProbeResult result;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, probes::run_probe(request), [&](std::exception_ptr e, ProbeResult r) {
    failure = e;
    result = std::move(r);
  });
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      err << "smtp_exporter check: the probe failed unexpectedly: " << e.what() << "\n";
    } catch (...) {
      err << "smtp_exporter check: the probe failed unexpectedly\n";
    }
    return kCheckUnhealthy;
  }

  CheckReport report = build_report(subject, std::move(result));
  out << (options->json ? render_check_json(report) : render_check_text(report));
  out.flush();
  return exit_code(report.result.health.status);
}

}  // namespace smtp_exporter::exporter
