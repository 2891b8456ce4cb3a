// Routes: /probe, /metrics, /, /config, /logs, /healthz, /-/healthy, /-/reload (under --web.route-prefix).
#include "smtp_exporter/app.h"

#include <boost/asio/this_coro.hpp>
#include <prometheus/text_serializer.h>
#include <boost/asio/thread_pool.hpp>
#include <atomic>
#include <charconv>
#include <mutex>
#include <optional>
#include <set>

#include "agent/agent.h"
#include "core/runtime.h"
#include "http/gzip.h"
#include "http/healthz.h"
#include "http/history.h"
#include "http/pages.h"
#include "http/web_config.h"
#include "smtp_exporter/check.h"
#include "smtp_exporter/log.h"
#include "smtp_exporter/probe.h"
#include "smtp_exporter/probe_query.h"
#include "smtp_exporter/render.h"
#include "smtp_exporter/tls_context.h"
#include "views/self_metrics.h"
#include "views/text.h"

namespace smtp_exporter::exporter {
namespace {

constexpr const char* kExposition = "text/plain; version=0.0.4; charset=utf-8";

HttpResponse text(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body) + "\n"};
}

// One of the max_concurrent_probes places of /probe, taken for the whole
// request and given back however the probe coroutine ends.
class ProbeSlot {
 public:
  ProbeSlot(std::atomic<std::size_t>& running, prometheus::Gauge& gauge) : running_(running), gauge_(gauge) {
    gauge_.Increment();
  }
  ~ProbeSlot() {
    --running_;
    gauge_.Decrement();
  }
  ProbeSlot(const ProbeSlot&) = delete;
  ProbeSlot& operator=(const ProbeSlot&) = delete;

  // A slot, or nullopt when `limit` probes are running already.
  static std::optional<ProbeSlot> take(std::atomic<std::size_t>& running, std::size_t limit,
                                       prometheus::Gauge& gauge) {
    if (running.fetch_add(1) >= limit) {
      --running;
      return std::nullopt;
    }
    return std::optional<ProbeSlot>(std::in_place, running, gauge);
  }

 private:
  std::atomic<std::size_t>& running_;
  prometheus::Gauge& gauge_;
};

// Why a request comes from another site's page, or "" when it does not seem
// to. A browser adds Sec-Fetch-Site and Origin to a cross-site POST (a form
// or fetch on any web page the operator visits), which could otherwise
// reload the exporter behind its back when no credentials are configured;
// curl, Prometheus and scripts send neither header.
std::string cross_site(const HttpRequest& request) {
  auto header = [&](const char* name) -> const std::string* {
    auto it = request.headers.find(name);
    return it == request.headers.end() ? nullptr : &it->second;
  };
  if (const std::string* site = header("sec-fetch-site"); site && *site != "same-origin" && *site != "none")
    return "Sec-Fetch-Site is \"" + json_escape(*site) + "\" (only same-origin requests may reload)";
  if (const std::string* origin = header("origin")) {
    const std::string* host = header("host");
    auto scheme_end = origin->find("://");
    std::string origin_host = scheme_end == std::string::npos ? "" : origin->substr(scheme_end + 3);
    if (!host || origin_host != *host)
      return "Origin \"" + json_escape(*origin) + "\" is not this server (only same-origin requests may reload)";
  }
  return {};
}

}  // namespace

std::optional<std::string> route_of(const std::string& path, const std::string& prefix) {
  if (prefix == "/") return path;
  if (!path.starts_with(prefix)) return std::nullopt;
  std::string rest = path.substr(prefix.size());
  if (rest.empty()) return "/";
  if (!rest.starts_with("/")) return std::nullopt;  // "/a/bc" is not under "/a/b"
  return rest;
}

struct App::State {
  explicit State(AppOptions o) : options(std::move(o)), basic_auth(options.basic_auth) {}
  AppOptions options;
  mutable std::mutex config_mutex;
  std::shared_ptr<BasicAuth> basic_auth;  // options.basic_auth, or the reloaded one (under config_mutex)
  std::shared_ptr<const Runtime> runtime;
  std::shared_ptr<const config::Config> config;  // aliases runtime->config
  SelfMetrics metrics;
  std::atomic<std::size_t> probes_running{0};  // /probe requests holding a ProbeSlot
  // bcrypt, off the event loop; started on the first use, so that an exporter
  // without basic authentication runs one thread.
  std::once_flag auth_pool_started;
  std::unique_ptr<boost::asio::thread_pool> auth_pool;
  boost::asio::any_io_executor auth_executor() {
    std::call_once(auth_pool_started,
                   [this] { auth_pool = std::make_unique<boost::asio::thread_pool>(options.auth_threads); });
    return auth_pool->get_executor();
  }
  History history;
  Agent agent{options.agent_concurrency};
  bool agent_started = false;
  boost::asio::any_io_executor agent_executor;

  boost::asio::awaitable<HttpResponse> probe(const HttpRequest& request);
  // The last result of every [[targets]] entry, and the units' totals over
  // its runs (counters, histograms), labelled by target_name and its labels.
  std::string agent_metrics() const {
    auto targets = agent.snapshot();
    std::vector<LabelledResult> results;
    prometheus::Registry totals;
    for (const auto& t : targets) {
      if (!t.last) continue;
      std::map<std::string, std::string> labels = t.target.labels;
      labels["target_name"] = t.target.name;
      add_series(totals, t.totals, prometheus::Labels(labels.begin(), labels.end()));
      results.push_back({std::move(labels), &*t.last});
    }
    if (results.empty()) return "";
    return render_labelled(results) + prometheus::TextSerializer().Serialize(totals.Collect());
  }
  HttpResponse logs(const HttpRequest& request) const;
  // What the landing page's links start with: the external URL, else the
  // route prefix ("" for "/").
  std::string link_base() const {
    if (!options.external_url.empty()) return options.external_url;
    return options.route_prefix == "/" ? "" : options.route_prefix;
  }
};

App::App(config::Config config, AppOptions options) : state_(std::make_unique<State>(std::move(options))) {
  set_config(std::move(config));
}

App::~App() = default;

void App::set_config(config::Config config) {
  install(Runtime::build(std::move(config), state_->options.build_tls_now));
}

void App::install(std::shared_ptr<const Runtime> runtime) {
  std::shared_ptr<const config::Config> view(runtime, &runtime->config);
  {
    std::lock_guard lock(state_->config_mutex);
    state_->runtime = runtime;
    state_->config = std::move(view);
  }
  state_->metrics.config_loaded(true);
  state_->metrics.probe_limit(runtime->max_concurrent_probes);
  if (!state_->agent_started) return;
  state_->agent.run(state_->agent_executor, runtime);
  probes::start_checks(state_->agent_executor, runtime->config);  // the units' background work
}

std::string App::reload() {
  try {
    // Everything that can fail first, both files; then both are applied,
    // so that a bad file leaves both in force.
    std::function<void()> apply_web = state_->options.reload_web ? state_->options.reload_web() : nullptr;
    const std::string& file = state_->options.config_file;
    std::shared_ptr<const Runtime> runtime =
        Runtime::build(file.empty() ? config::default_config() : config::load_file(file), state_->options.build_tls_now);
    if (apply_web) apply_web();
    install(std::move(runtime));
  } catch (const std::exception& e) {
    state_->metrics.config_loaded(false);
    log::error("configuration reload failed; keeping the configuration in force", {{"err", e.what()}});
    return e.what();
  }
  log::info("configuration reloaded", {{"modules", std::to_string(config()->modules.size())},
                                       {"targets", std::to_string(config()->targets.size())}});
  return {};
}

void App::set_basic_auth(std::shared_ptr<BasicAuth> auth) {
  std::lock_guard lock(state_->config_mutex);
  state_->basic_auth = std::move(auth);
}

void App::start_agent(const boost::asio::any_io_executor& executor) {
  state_->agent_executor = executor;
  state_->agent_started = true;
  std::lock_guard lock(state_->config_mutex);
  state_->agent.run(executor, state_->runtime);
  probes::start_checks(executor, state_->runtime->config);
}

void App::stop_agent() { state_->agent.stop(); }

void App::join_workers() {
  if (state_->auth_pool) state_->auth_pool->join();
}

std::shared_ptr<const config::Config> App::config() const {
  std::lock_guard lock(state_->config_mutex);
  return state_->config;
}

boost::asio::awaitable<HttpResponse> App::handle(const HttpRequest& request) {
  HttpResponse response;
  static const std::set<std::string> kRoutes{"/",       "/probe", "/metrics", "/-/healthy", "/healthz",
                                             "/config", "/logs",  "/-/reload"};
  // --web.route-prefix: a path outside it is no route (404, after basic auth).
  const std::optional<std::string> routed = route_of(request.path, state_->options.route_prefix);
  const std::string path = routed.value_or("");
  // The handler label is a known route or "other", whatever is requested.
  const std::string handler = kRoutes.contains(path) ? path : "other";
  // Basic authentication guards every route, /-/healthy included (as
  // exporter-toolkit does).
  auto authorization = request.headers.find("authorization");
  std::shared_ptr<BasicAuth> basic_auth;
  {
    std::lock_guard lock(state_->config_mutex);
    basic_auth = state_->basic_auth;
  }
  BasicAuth::Verdict verdict = BasicAuth::Verdict::allowed;
  if (basic_auth) {
    std::string header = authorization == request.headers.end() ? "" : authorization->second;
    std::string source = request.remote_address;
    boost::asio::any_io_executor pool = state_->auth_executor();
    verdict = co_await basic_auth->check(header, source, pool);
  }
  if (verdict == BasicAuth::Verdict::denied) {
    response = text(401, "Unauthorized");
  } else if (verdict == BasicAuth::Verdict::throttled) {
    response = text(429, "too many authentication attempts: try again later");
  } else if (path == "/-/reload") {
    if (request.method != "POST" && request.method != "PUT") {
      response = text(405, "use POST to reload the configuration");
    } else if (std::string why = cross_site(request); !why.empty()) {
      response = text(403, "reload refused: " + why);
    } else if (std::string error = reload(); !error.empty()) {
      response = text(500, "failed to reload config: " + error);
    } else {
      response = text(200, "OK");
    }
  } else if (request.method != "GET" && request.method != "HEAD") {
    response = text(405, "method " + request.method + " not allowed");
  } else if (path == "/probe") {
    response = co_await state_->probe(request);
  } else if (path == "/metrics") {
    response = {200, kExposition, state_->metrics.render() + state_->agent_metrics()};
  } else if (path == "/healthz") {
    HealthReport report = health_report(state_->agent.snapshot());
    response = {report.http_status, "application/json", std::move(report.json)};
  } else if (path == "/") {
    response = {200, "text/html; charset=utf-8", landing_page(*config(), state_->history.list(), state_->link_base())};
  } else if (path == "/-/healthy") {
    response = text(200, "OK");
  } else if (path == "/config") {
    auto current = config();
    response = text(200, config::to_toml(*current));
  } else if (path == "/logs") {
    response = state_->logs(request);
  } else {
    response = text(404, "not found");
  }
  state_->metrics.http_request(handler, response.status);
  if (response.content_type == kExposition) {
    response.vary_accept_encoding = true;
    auto accept = request.headers.find("accept-encoding");
    if (accept != request.headers.end() && accepts_gzip(accept->second)) {
      response.body = gzip(response.body);
      response.content_encoding = "gzip";
    }
  }
  co_return response;
}

HttpResponse App::State::logs(const HttpRequest& request) const {
  std::string error;
  auto params = parse_query(request.query, error);
  if (!params) return text(400, error);
  auto it = params->find("id");
  if (it == params->end()) return text(400, "id parameter is missing");
  // Anything but a number of the history (a word, a sign, a number past
  // 2^64 - 1, which from_chars reports as out of range) names no probe.
  const std::string& value = it->second;
  std::uint64_t id = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), id);
  std::optional<std::string> debug;
  if (!value.empty() && ec == std::errc() && end == value.data() + value.size()) debug = history.debug_text(id);
  if (!debug) return text(404, "no probe with id \"" + json_escape(value) + "\" in the history");
  return text(200, *debug);
}

boost::asio::awaitable<HttpResponse> App::State::probe(const HttpRequest& request) {
  auto current = [this] {
    std::lock_guard lock(config_mutex);
    return runtime;
  }();
  // First, so that an overloaded exporter sheds load at the least cost.
  auto slot = ProbeSlot::take(probes_running, current->max_concurrent_probes, metrics.in_flight());
  if (!slot) {
    metrics.probe_rejected();
    co_return text(503, "too many probes in flight: the limit is " + std::to_string(current->max_concurrent_probes) +
                            " ([limits] max_concurrent_probes)");
  }
  std::string error;
  auto params = parse_query(request.query, error);
  if (!params) co_return text(400, error);
  const config::Config* cfg = &current->config;

  auto target_param = params->find("target");
  if (target_param == params->end() || target_param->second.empty())
    co_return text(400, "target parameter is missing");
  auto module_param = params->find("module");
  std::string module_name;
  if (module_param != params->end()) {
    module_name = module_param->second;
  } else if (auto fallback = config::default_module(*cfg)) {
    module_name = *fallback;
  } else {
    co_return text(400, "module parameter is missing");
  }
  std::string server_name;
  if (auto hostname = params->find("hostname"); hostname != params->end()) {
    auto name = parse_target(hostname->second, error);
    if (!name || name->port) co_return text(400, "invalid hostname: " + (name ? std::string("must not have a port") : error));
    server_name = name->host;
  }
  // The scrape's budget (X-Prometheus-Scrape-Timeout-Seconds minus the
  // offset) bounds the module's timeout; a bad header is reported after the
  // target's own errors, as before.
  auto header = request.headers.find("x-prometheus-scrape-timeout-seconds");
  std::optional<std::chrono::milliseconds> deadline;
  std::string deadline_error;
  if (auto module = cfg->modules.find(module_name); module != cfg->modules.end())
    deadline = probe_timeout(module->second.timeout, header == request.headers.end() ? nullptr : &header->second,
                             options.timeout_offset_seconds, deadline_error);
  auto built = current->request(module_name, target_param->second, server_name, error, deadline);
  if (!built) co_return text(400, error);
  probes::ProbeRequest& probe_request = *built;
  // [web] allowed_targets: the host (or mail domain) asked for, by name or
  // address as written; a name is not resolved to check it against networks.
  if (!config::target_allowed(cfg->web, probe_request.host))
    co_return text(403, "target \"" + json_escape(target_param->second) + "\" is not allowed by [web] allowed_targets");
  if (!deadline_error.empty()) co_return text(400, deadline_error);
  auto debug = params->find("debug");
  bool want_debug = debug != params->end() && (debug->second == "true" || debug->second == "1");
  probes::ProbeResult finished = co_await probes::run_probe(probe_request);
  auto result = std::make_shared<const probes::ProbeResult>(std::move(finished));
  std::string body = render_metrics(*result);
  metrics.probe_finished(module_name, result->success, result->duration_seconds);
  // The runtime keeps the module (as the probe saw it: Runtime::request copies it) alive.
  const config::Module* module = &cfg->modules.at(module_name);
  history.add({0, target_param->second, module_name, result->success, std::chrono::system_clock::now(),
               result->duration_seconds, [result, body, module_name, module, current] {
                 return render_debug(*result, body, module_name, *module);
               }});
  if (log::enabled(log::Level::debug)) {
    std::string failure = result->failure ? std::string(probes::to_string(result->failure->stage)) + "/" +
                                                std::string(probes::to_string(result->failure->reason)) + ": " +
                                                result->failure->detail
                                          : "";
    log::debug("probe finished", {{"target", target_param->second},
                                  {"module", module_name},
                                  {"success", result->success ? "true" : "false"},
                                  {"duration_seconds", std::to_string(result->duration_seconds)},
                                  {"failure", failure}});
  }
  if (want_debug) co_return text(200, render_debug(*result, body, module_name, *module));
  co_return HttpResponse{200, kExposition, std::move(body)};
}

}  // namespace smtp_exporter::exporter
