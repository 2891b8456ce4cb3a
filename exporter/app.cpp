// Routes: /probe, /metrics, /, /config, /logs, /-/healthy.
#include "smtp_exporter/app.h"

#include <boost/asio/this_coro.hpp>
#include <charconv>
#include <mutex>
#include <set>

#include "history.h"
#include "pages.h"
#include "self_metrics.h"
#include "smtp_exporter/log.h"
#include "smtp_exporter/probe.h"
#include "smtp_exporter/probe_query.h"
#include "smtp_exporter/render.h"
#include "smtp_exporter/tls_context.h"
#include "text.h"

namespace smtp_exporter::exporter {
namespace {

constexpr const char* kExposition = "text/plain; version=0.0.4; charset=utf-8";

HttpResponse text(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body) + "\n"};
}

// Decrements the in-flight gauge however the probe coroutine ends.
struct InFlight {
  explicit InFlight(prometheus::Gauge& g) : gauge(g) { gauge.Increment(); }
  ~InFlight() { gauge.Decrement(); }
  prometheus::Gauge& gauge;
};

}  // namespace

// A configuration with what is built from it once: the TLS client contexts.
struct Runtime {
  config::Config config;
  std::map<std::string, std::shared_ptr<probes::TlsContext>> tls;
};

struct App::State {
  AppOptions options;
  mutable std::mutex config_mutex;
  std::shared_ptr<const Runtime> runtime;
  std::shared_ptr<const config::Config> config;  // aliases runtime->config
  SelfMetrics metrics;
  History history;

  boost::asio::awaitable<HttpResponse> probe(const HttpRequest& request);
  HttpResponse logs(const HttpRequest& request) const;
};

App::App(config::Config config, AppOptions options) : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  set_config(std::move(config));
}

App::~App() = default;

void App::set_config(config::Config config) {
  auto runtime = std::make_shared<Runtime>();
  for (const auto& [name, module] : config.modules) {
    if (module.tls == config::TlsMode::none) continue;
    try {
      runtime->tls.emplace(name, probes::make_tls_context(module.tls_config));
    } catch (const std::exception& e) {
      throw std::runtime_error(config.source + ": modules." + name + ".tls_config: " + e.what());
    }
  }
  runtime->config = std::move(config);
  std::shared_ptr<const config::Config> view(runtime, &runtime->config);
  std::lock_guard lock(state_->config_mutex);
  state_->runtime = std::move(runtime);
  state_->config = std::move(view);
  state_->metrics.config_loaded(true);
}

std::shared_ptr<const config::Config> App::config() const {
  std::lock_guard lock(state_->config_mutex);
  return state_->config;
}

boost::asio::awaitable<HttpResponse> App::handle(const HttpRequest& request) {
  HttpResponse response;
  static const std::set<std::string> kRoutes{"/", "/probe", "/metrics", "/-/healthy", "/config", "/logs"};
  // The handler label is a known route or "other", whatever is requested.
  const std::string handler = kRoutes.contains(request.path) ? request.path : "other";
  if (request.method != "GET" && request.method != "HEAD") {
    response = text(405, "method " + request.method + " not allowed");
  } else if (request.path == "/probe") {
    response = co_await state_->probe(request);
  } else if (request.path == "/metrics") {
    response = {200, kExposition, state_->metrics.render()};
  } else if (request.path == "/") {
    response = {200, "text/html; charset=utf-8", landing_page(*config(), state_->history.list())};
  } else if (request.path == "/-/healthy") {
    response = text(200, "OK");
  } else if (request.path == "/config") {
    response = text(200, config::to_toml(*config()));
  } else if (request.path == "/logs") {
    response = state_->logs(request);
  } else {
    response = text(404, "not found");
  }
  state_->metrics.http_request(handler, response.status);
  co_return response;
}

HttpResponse App::State::logs(const HttpRequest& request) const {
  std::string error;
  auto params = parse_query(request.query, error);
  if (!params) return text(400, error);
  auto it = params->find("id");
  std::uint64_t id = 0;
  const char* end = it == params->end() ? nullptr : it->second.data() + it->second.size();
  if (it == params->end() || std::from_chars(it->second.data(), end, id).ptr != end || it->second.empty())
    return text(400, "id parameter is missing or not a number");
  auto debug = history.debug_text(id);
  if (!debug) return text(404, "probe " + std::to_string(id) + " is no longer in the history");
  return text(200, *debug);
}

boost::asio::awaitable<HttpResponse> App::State::probe(const HttpRequest& request) {
  std::string error;
  auto params = parse_query(request.query, error);
  if (!params) co_return text(400, error);
  auto current = [this] {
    std::lock_guard lock(config_mutex);
    return runtime;
  }();
  const config::Config* cfg = &current->config;

  auto target_param = params->find("target");
  if (target_param == params->end() || target_param->second.empty())
    co_return text(400, "target parameter is missing");
  auto module_param = params->find("module");
  std::string module_name;
  if (module_param != params->end()) {
    module_name = module_param->second;
  } else if (cfg->modules.contains(options.default_module)) {
    module_name = options.default_module;
  } else if (cfg->modules.size() == 1) {
    module_name = cfg->modules.begin()->first;
  } else {
    co_return text(400, "module parameter is missing");
  }
  auto module = cfg->modules.find(module_name);
  if (module == cfg->modules.end())
    co_return text(400, "unknown module \"" + json_escape(module_name) + "\"");
  // "mx:DOMAIN" (or a module with mx = true): the target is a mail domain.
  std::string_view target_text = target_param->second;
  bool mx = module->second.mx || target_text.starts_with("mx:");
  if (target_text.starts_with("mx:")) target_text.remove_prefix(3);
  auto target = parse_target(target_text, error);
  if (!target) co_return text(400, "invalid target: " + error);
  auto header = request.headers.find("x-prometheus-scrape-timeout-seconds");
  auto timeout = probe_timeout(module->second.timeout, header == request.headers.end() ? nullptr : &header->second,
                               options.timeout_offset_seconds, error);
  if (!timeout) co_return text(400, error);
  std::string server_name;
  if (auto hostname = params->find("hostname"); hostname != params->end()) {
    auto name = parse_target(hostname->second, error);
    if (!name || name->port) co_return text(400, "invalid hostname: " + (name ? std::string("must not have a port") : error));
    server_name = name->host;
  }
  auto debug = params->find("debug");
  bool want_debug = debug != params->end() && (debug->second == "true" || debug->second == "1");

  auto tls = current->tls.find(module_name);
  probes::ProbeRequest probe_request{target->host, target->port.value_or(module->second.port), module->second,
                                     *timeout, tls == current->tls.end() ? nullptr : tls->second, server_name, mx,
                                     ""};
  probes::ProbeResult result;
  {
    InFlight guard(metrics.in_flight());
    result = co_await probes::run_probe(probe_request);
  }
  std::string body = render_metrics(result);
  std::string debug_text = render_debug(result, body, module_name, module->second);
  metrics.probe_finished(module_name, result.success, result.duration_seconds);
  history.add({0, target_param->second, module_name, result.success, std::chrono::system_clock::now(),
               result.duration_seconds, want_debug ? debug_text : std::move(debug_text)});
  if (log::enabled(log::Level::debug)) {
    std::string failure = result.failure ? std::string(probes::to_string(result.failure->stage)) + "/" +
                                               std::string(probes::to_string(result.failure->reason)) + ": " +
                                               result.failure->detail
                                         : "";
    log::debug("probe finished", {{"target", target_param->second},
                                  {"module", module_name},
                                  {"success", result.success ? "true" : "false"},
                                  {"duration_seconds", std::to_string(result.duration_seconds)},
                                  {"failure", failure}});
  }
  if (want_debug) co_return text(200, std::move(debug_text));
  co_return HttpResponse{200, kExposition, std::move(body)};
}

}  // namespace smtp_exporter::exporter
