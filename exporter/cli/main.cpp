// smtp_exporter: flags → logging → config → HTTP server → event loop.
#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <functional>
#include <iostream>
#include <thread>

#include "cli/check.h"
#include "core/open_files.h"
#include "http/systemd_socket.h"
#include "http/web_config.h"
#include "smtp_exporter/app.h"
#include "smtp_exporter/cli.h"
#include "smtp_exporter/http_server.h"
#include "smtp_exporter/log.h"
#include "smtp_exporter/version.h"

namespace {

using namespace smtp_exporter;

// The event loop. On shutdown the handlers still queued (the coroutine frames of
// probes and sessions in flight, which refer to the App and the HttpServer) must be
// destroyed while those objects exist; io_context would only do it in its
// destructor, which runs after theirs (the App's strand needs the io_context
// alive). execution_context::shutdown() destroys them and keeps the services.
class EventLoop : public boost::asio::io_context {
 public:
  using io_context::io_context;
  void abandon_pending_work() { shutdown(); }
};

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
  // Before the config is turned into a Runtime: the default
  // max_concurrent_probes is sized from this limit.
  const exporter::OpenFilesLimit files = exporter::raise_open_files_limit();
  config::Config config;
  try {
    config = options.config_file.empty() ? config::default_config() : config::load_file(options.config_file);
  } catch (const config::ConfigError& e) {
    report_config_error(options, e.what());
    return 1;
  }

  // --web.config.file: read at startup and on every reload (SIGHUP, POST
  // /-/reload). Its TLS context is built here too, so a bad certificate fails
  // the start (and --config.check) rather than every handshake.
  std::shared_ptr<const exporter::WebConfig> web;
  if (!options.web_config_file.empty()) {
    try {
      web = std::make_shared<const exporter::WebConfig>(exporter::load_web_config(options.web_config_file));
      if (web->tls) exporter::make_server_tls_context(*web->tls);
    } catch (const std::runtime_error& e) {
      std::string error = e.what();
      if (!error.starts_with(options.web_config_file)) error = options.web_config_file + ": " + error;
      report_config_error(options, error);
      return 1;
    }
  }

  // Before the App: the agent's strand must be destroyed while its
  // io_context still exists.
  EventLoop io(static_cast<int>(options.threads));
  exporter::HttpServer* server_for_reload = nullptr;  // set once the server exists
  std::unique_ptr<exporter::App> app_holder;
  try {
    exporter::AppOptions app_options;
    app_options.timeout_offset_seconds = options.timeout_offset_seconds;
    app_options.config_file = options.config_file;
    app_options.route_prefix = options.route_prefix;
    app_options.external_url = options.external_url;
    app_options.build_tls_now = options.config_check;  // the check includes what OpenSSL says of tls_config
    if (web && !web->users.empty()) app_options.basic_auth = std::make_shared<exporter::BasicAuth>(web->users);
    if (!options.web_config_file.empty())
      app_options.reload_web = [&server_for_reload, &app_holder,
                                file = options.web_config_file]() -> std::function<void()> {
        // Read, and build the TLS context and the users, before anything
        // changes: App::reload applies it only once the TOML has loaded too.
        auto reloaded = std::make_shared<const exporter::WebConfig>(exporter::load_web_config(file));
        std::function<void()> apply_tls =
            server_for_reload ? server_for_reload->prepare_web_config(reloaded) : std::function<void()>([] {});
        auto auth = reloaded->users.empty() ? nullptr : std::make_shared<exporter::BasicAuth>(reloaded->users);
        return [&app_holder, reloaded, apply_tls, auth] {
          apply_tls();
          app_holder->set_basic_auth(auth);
          log::info("web configuration reloaded", {{"web_config", reloaded->source},
                                                   {"tls", reloaded->tls ? "true" : "false"},
                                                   {"users", std::to_string(reloaded->users.size())}});
        };
      };
    app_holder = std::make_unique<exporter::App>(std::move(config), app_options);
  } catch (const std::runtime_error& e) {  // e.g. a CA file that is not PEM
    report_config_error(options, e.what());
    return 1;
  }
  exporter::App& app = *app_holder;
  if (options.config_check) {  // after the TLS contexts were built: they are part of the check
    std::cout << app.config()->source << ": OK, " << app.config()->modules.size() << " module(s), "
              << app.config()->targets.size() << " target(s)\n";
    if (web)
      std::cout << web->source << ": OK, TLS " << (web->tls ? "on" : "off") << ", " << web->users.size()
                << " basic auth user(s)\n";
    return 0;
  }
  log::info("starting smtp_exporter", {{"version", kVersion},
                                       {"revision", kRevision},
                                       {"config", app.config()->source},
                                       {"route_prefix", options.route_prefix},
                                       {"external_url", options.external_url}});
  log::info("open files limit", {{"before", std::to_string(files.before)},
                                 {"now", std::to_string(files.after)},
                                 {"hard", std::to_string(files.hard)},
                                 {"max_concurrent_probes", std::to_string(exporter::max_concurrent_probes(
                                                               app.config()->limits))}});
  if (web && !web->users.empty() && !web->tls)
    log::warn("basic authentication without TLS: passwords cross the network in clear text",
              {{"web_config", web->source}});
  std::unique_ptr<exporter::HttpServer> server_holder;
  try {
    server_holder = std::make_unique<exporter::HttpServer>(io, app, web);  // builds the TLS context
    if (options.systemd_socket) {
      if (!options.listen_addresses.empty())
        log::warn("--web.listen-address is ignored with --web.systemd-socket: the sockets are systemd's");
      for (int fd : exporter::systemd_listen_fds()) server_holder->adopt(fd);
    } else {
      for (const auto& address : options.listen_addresses) server_holder->listen(address);
    }
  } catch (const std::exception& e) {
    log::error("cannot start HTTP server", {{"err", e.what()}});
    return 1;
  }
  exporter::HttpServer& server = *server_holder;
  server_for_reload = &server;

  // SIGTERM/SIGINT: stop accepting and stop the loop; probes in flight are
  // abandoned (their sockets close as the io_context is destroyed).
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    log::info("shutting down", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
    server.stop();
    app.stop_agent();
    io.stop();
  });

  // SIGHUP: read the configuration file again; a bad one is logged and the
  // one in force stays (App::reload).
  boost::asio::signal_set hangup(io, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_hangup = [&](const boost::system::error_code& ec, int) {
    if (ec) return;
    app.reload();
    hangup.async_wait(on_hangup);
  };
  hangup.async_wait(on_hangup);
  app.start_agent(io.get_executor());

  std::vector<std::thread> workers;
  for (unsigned i = 1; i < options.threads; ++i) workers.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& w : workers) w.join();
  app.join_workers();
  io.abandon_pending_work();
  log::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // `smtp_exporter check TARGET [flags]`: one probe and a doctor report (check.h).
  if (argc > 1 && std::string_view(argv[1]) == "check")
    return exporter::run_check(std::vector<std::string>(argv + 2, argv + argc), std::cout, std::cerr);
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
