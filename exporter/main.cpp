// smtp_exporter: flags → logging → config → HTTP server → event loop.
#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <iostream>
#include <thread>

#include "host_name.h"
#include "smtp_exporter/app.h"
#include "smtp_exporter/cli.h"
#include "smtp_exporter/http_server.h"
#include "smtp_exporter/log.h"
#include "smtp_exporter/version.h"

namespace {

using namespace smtp_exporter;

// EHLO needs a name; modules that give none use this host's FQDN (or,
// without one, the probe's address literal).
void fill_ehlo_names(config::Config& config) {
  const std::string name = exporter::fqdn();
  for (auto& [_, module] : config.modules)
    if (module.ehlo_name.empty()) module.ehlo_name = name;
}

// A bad configuration is said once: plainly for --config.check (a person
// reads it), as a log line otherwise (a service manager collects it).
void report_config_error(const exporter::Options& options, const std::string& error) {
  if (options.config_check) {
    std::cerr << "smtp_exporter: " << error << "\n";
  } else {
    log::error("invalid configuration", {{"err", error}});
  }
}

int run(const exporter::Options& options) {
  config::Config config;
  try {
    config = options.config_file.empty() ? config::default_config() : config::load_file(options.config_file);
  } catch (const config::ConfigError& e) {
    report_config_error(options, e.what());
    return 1;
  }
  fill_ehlo_names(config);

  std::unique_ptr<exporter::App> app_holder;
  try {
    app_holder = std::make_unique<exporter::App>(std::move(config),
                                                 exporter::AppOptions{options.timeout_offset_seconds, "smtp_banner"});
  } catch (const std::runtime_error& e) {  // e.g. a CA file that is not PEM
    report_config_error(options, e.what());
    return 1;
  }
  exporter::App& app = *app_holder;
  if (options.config_check) {  // after the TLS contexts were built: they are part of the check
    std::cout << app.config()->source << ": OK, " << app.config()->modules.size() << " module(s)\n";
    return 0;
  }
  log::info("starting smtp_exporter", {{"version", kVersion}, {"revision", kRevision}, {"config", app.config()->source}});
  boost::asio::io_context io(static_cast<int>(options.threads));
  exporter::HttpServer server(io, app);
  try {
    for (const auto& address : options.listen_addresses) server.listen(address);
  } catch (const std::exception& e) {
    log::error("cannot start HTTP server", {{"err", e.what()}});
    return 1;
  }

  // SIGTERM/SIGINT: stop accepting and stop the loop; probes in flight are
  // abandoned (their sockets close as the io_context is destroyed).
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    log::info("shutting down", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
    server.stop();
    io.stop();
  });

  std::vector<std::thread> workers;
  for (unsigned i = 1; i < options.threads; ++i) workers.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& w : workers) w.join();
  log::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string error;
  auto options = exporter::parse_flags(std::vector<std::string>(argv + 1, argv + argc), error);
  if (!options) {
    std::cerr << "smtp_exporter: " << error << " (see --help)\n";
    return 2;
  }
  if (options->help) {
    std::cout << exporter::usage();
    return 0;
  }
  if (options->version) {
    std::cout << "smtp_exporter " << kVersion << " (revision " << kRevision << ", " << kCompiler << ")\n";
    return 0;
  }
  try {
    log::setup(options->log_level, options->log_format);
  } catch (const std::invalid_argument& e) {
    std::cerr << "smtp_exporter: " << e.what() << "\n";
    return 2;
  }
  return run(*options);
}
