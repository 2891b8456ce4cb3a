// The exporter's HTTP routes, independent of the HTTP library: a request in,
// a response out. /probe runs a probe on the calling coroutine's executor.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <map>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "smtp_exporter/config.h"

namespace smtp_exporter::exporter {

struct HttpRequest {
  std::string method;
  std::string path;
  std::string query;  // raw, without '?'
  std::map<std::string, std::string> headers;  // names in lower case
  std::string remote_address = {};             // the client's IP address (basic auth limits)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string content_encoding = {};  // "gzip" when the body is compressed
  bool vary_accept_encoding = false;  // the answer depends on Accept-Encoding
};

class BasicAuth;  // web_config.h
struct Runtime;   // runtime.h

struct AppOptions {
  double timeout_offset_seconds = 0.5;
  // basic_auth_users of --web.config.file: every route answers 401 without
  // valid credentials (the HTTP server adds WWW-Authenticate). Null: open.
  std::shared_ptr<BasicAuth> basic_auth;
  std::string config_file;  // what a reload reads; empty: the built-in modules
  // Run by every reload before anything changes: reads --web.config.file
  // again and builds what it needs (TLS context, users), throwing
  // std::runtime_error when that fails; returns what applies it, which
  // cannot fail and runs only once the configuration file has loaded too
  // (both files, or neither).
  std::function<std::function<void()>()> reload_web;
  // --web.route-prefix: "/" or "/a/b" (no trailing '/'). Every route is
  // served under it ("/a/b", "/a/b/" the landing page, "/a/b/metrics", ...);
  // anything else is 404.
  std::string route_prefix = "/";
  // --web.external-url without a trailing '/' (empty: none): the landing
  // page's links start with it, else with the route prefix.
  std::string external_url;
  std::size_t agent_concurrency = 32;  // scheduled probes running at once
  std::size_t auth_threads = 1;        // bcrypt workers (BasicAuth::check), off the event loop
  // --config.check: build every module's TLS context at load (its whole
  // check) instead of on first use.
  bool build_tls_now = false;
};

// The route of `path` under --web.route-prefix `prefix` ("/" or "/a/b"):
// "/a/b" and "/a/b/" are "/", "/a/b/metrics" is "/metrics"; nullopt for a
// path outside the prefix ("/metrics", "/a/bc").
std::optional<std::string> route_of(const std::string& path, const std::string& prefix);

class App {
 public:
  App(config::Config config, AppOptions options);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // `request` must outlive the returned awaitable (co_await it at once).
  boost::asio::awaitable<HttpResponse> handle(const HttpRequest& request);

  // Replaces the configuration for the probes that start from now on, after
  // building what it needs (TLS contexts). Throws std::runtime_error with
  // the reason when that fails; the configuration in force stays.
  void set_config(config::Config config);
  std::shared_ptr<const config::Config> config() const;

  // Reads the configuration file again (SIGHUP, POST /-/reload). On error the
  // configuration in force stays; returns the reason, empty on success.
  std::string reload();

  // basic_auth_users from a reloaded --web.config.file (null: open).
  void set_basic_auth(std::shared_ptr<BasicAuth> auth);

  // Starts probing the [[targets]] in the background on `executor`
  // (restarted by every successful reload).
  void start_agent(const boost::asio::any_io_executor& executor);
  void stop_agent();
  // Waits for the bcrypt workers' jobs in flight; their completions are
  // queued on the event loop. Call after the loop's threads have returned
  // and before its pending work is destroyed (main.cpp).
  void join_workers();

 private:
  // Puts a built configuration in force (cannot fail).
  void install(std::shared_ptr<const Runtime> runtime);

  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace smtp_exporter::exporter
