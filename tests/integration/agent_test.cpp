// Agent mode: scheduled targets (intervals, jitter, no overlap, bounded
// concurrency), /healthz, labelled /metrics, and configuration reloads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "agent/agent.h"
#include "fake_smtp_server.h"
#include "probe_helpers.h"
#include "smtp_exporter/app.h"

namespace smtp_exporter::testing {
namespace {

using namespace std::chrono_literals;
using exporter::App;
using exporter::HttpRequest;
using exporter::HttpResponse;
using ::testing::HasSubstr;
using ::testing::Not;

config::Config config_with_targets(const std::vector<std::pair<std::string, std::uint16_t>>& targets,
                                   config::Duration interval, config::Module module = test_module()) {
  config::Config c;
  c.source = "test";
  c.modules["smtp_banner"] = module;
  for (const auto& [name, port] : targets)
    c.targets.push_back({name, "127.0.0.1:" + std::to_string(port), "smtp_banner", interval, {{"team", "mail"}}, "test"});
  return c;
}

HttpResponse call(boost::asio::io_context& io, App& app, const std::string& method, const std::string& path) {
  HttpRequest request{method, path, "", {}};
  std::optional<HttpResponse> out;
  boost::asio::co_spawn(io, app.handle(request), [&](std::exception_ptr, HttpResponse r) { out = std::move(r); });
  while (!out) {
    if (io.stopped()) io.restart();  // run_one() stops the context when it runs out of work
    io.run_one();
  }
  return *out;
}

TEST(Agent, ProbesEachTargetOnItsIntervalWithBoundedJitter) {
  FakeSmtpServer server(polite_server());
  boost::asio::io_context io;
  App app(config_with_targets({{"mail", server.port()}}, 200ms), {});
  app.start_agent(io.get_executor());
  io.run_for(1100ms);
  // First run within [0, 200ms), then every 200ms ± 10% (180-220ms): from
  // 5 runs (199, 419, ... 1079ms) to 7 (0, 180, ... 1080ms) in 1.1s.
  EXPECT_GE(server.connections(), 5);
  EXPECT_LE(server.connections(), 7);
}

TEST(Agent, ARunNeverOverlapsTheNextOne) {
  // The server never answers: each probe lasts until its deadline, which the
  // agent caps at the interval; the server sees the probe hang up (EOF).
  FakeSmtpServer server({stall()});
  boost::asio::io_context io;
  App app(config_with_targets({{"stuck", server.port()}}, 150ms), {});
  app.start_agent(io.get_executor());
  io.run_for(1200ms);
  auto runs = server.conversations();
  ASSERT_GE(runs.size(), 5u);
  std::sort(runs.begin(), runs.end());
  for (std::size_t i = 1; i < runs.size(); ++i)  // 10ms for the server to notice the hang-up
    EXPECT_GE(runs[i].first + 10ms, runs[i - 1].second) << "run " << i << " started before run " << i - 1 << " ended";
}

TEST(Agent, ConcurrencyIsBounded) {
  FakeSmtpServer server([] {
    Script s = polite_server();
    s.insert(s.begin(), delay(200ms));
    return s;
  }());
  boost::asio::io_context io;
  exporter::AppOptions options;
  options.agent_concurrency = 2;
  App app(config_with_targets({{"a", server.port()}, {"b", server.port()}, {"c", server.port()},
                               {"d", server.port()}, {"e", server.port()}},
                              300ms),
          options);
  app.start_agent(io.get_executor());
  io.run_for(1500ms);
  EXPECT_GE(server.connections(), 5);
  EXPECT_EQ(server.max_concurrent(), 2);
}

TEST(Agent, HealthzReportsEveryTargetAndTheWorstStatus) {
  FakeSmtpServer good(polite_server());
  FakeSmtpServer slow([] {
    Script s = polite_server();
    s.insert(s.begin(), delay(150ms));
    return s;
  }());
  std::uint16_t closed;
  {
    FakeSmtpServer gone({hang_up()});
    closed = gone.port();
  }
  auto module = test_module();
  module.degraded_banner_latency = 100ms;
  boost::asio::io_context io;
  App app(config_with_targets({{"good", good.port()}, {"slow", slow.port()}}, 1s, module), {});

  app.start_agent(io.get_executor());
  auto pending = call(io, app, "GET", "/healthz");  // listed at once, before their first probe
  EXPECT_EQ(pending.status, 200);
  EXPECT_THAT(pending.body, HasSubstr("{\"name\":\"good\",\"status\":\"Degraded\""));
  EXPECT_THAT(pending.body, HasSubstr("\"description\":\"not probed yet\""));

  io.run_for(1300ms);  // first runs within [0, 1s), then 150ms of greeting delay
  auto degraded = call(io, app, "GET", "/healthz");
  EXPECT_EQ(degraded.status, 200);
  EXPECT_EQ(degraded.content_type, "application/json");
  EXPECT_THAT(degraded.body, ::testing::StartsWith("{\"status\":\"Degraded\",\"totalDuration\":"));
  EXPECT_THAT(degraded.body, HasSubstr("{\"name\":\"good\",\"status\":\"Healthy\",\"duration\":"));
  EXPECT_THAT(degraded.body, HasSubstr("\"description\":\"SMTP server accepting connections on port " +
                                       std::to_string(good.port()) + "\",\"tags\":[\"smtp\",\"smtp_banner\"]"));
  EXPECT_THAT(degraded.body, HasSubstr("{\"name\":\"slow\",\"status\":\"Degraded\""));
  EXPECT_THAT(degraded.body, HasSubstr("greeting took"));
  EXPECT_THAT(degraded.body, HasSubstr("\"data\":{\"target\":\"127.0.0.1:"));

  // A refused target makes the whole report Unhealthy: 503 for Docker and Kubernetes.
  app.set_config(config_with_targets({{"good", good.port()}, {"down", closed}}, 1s, module));
  io.run_for(1100ms);
  auto unhealthy = call(io, app, "GET", "/healthz");
  EXPECT_EQ(unhealthy.status, 503);
  EXPECT_THAT(unhealthy.body, ::testing::StartsWith("{\"status\":\"Unhealthy\""));
  EXPECT_THAT(unhealthy.body, HasSubstr("\"failureStage\":\"connect\",\"failureReason\":\"refused\""));
  EXPECT_THAT(unhealthy.body, Not(HasSubstr("\"name\":\"slow\"")));
}

TEST(Agent, MetricsCarryTheTargetNameAndLabels) {
  FakeSmtpServer server(polite_server());
  boost::asio::io_context io;
  App app(config_with_targets({{"primary", server.port()}, {"secondary", server.port()}}, 1s), {});
  app.start_agent(io.get_executor());
  io.run_for(1200ms);  // first runs start within [0, 1s)
  auto metrics = call(io, app, "GET", "/metrics");
  EXPECT_THAT(metrics.body, HasSubstr("probe_success{target_name=\"primary\",team=\"mail\"} 1"));
  EXPECT_THAT(metrics.body, HasSubstr("probe_success{target_name=\"secondary\",team=\"mail\"} 1"));
  // One HELP/TYPE block per family across targets, as the text format requires.
  std::size_t first = metrics.body.find("# TYPE probe_success gauge");
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(metrics.body.find("# TYPE probe_success gauge", first + 1), std::string::npos);
  EXPECT_THAT(metrics.body, HasSubstr("smtp_exporter_probes_in_flight"));
}

// The delivery unit's totals on /metrics belong to the agent target, with
// its labels (nothing process-wide): a leftover of an earlier run in the
// Maildir, older than the receive timeout, is removed and counted late by
// the target whose check found it; the lost test message of this run (the
// scripted server keeps it) adds no round trip.
TEST(Agent, DeliveryTotalsCarryTheTargetNameAndLabels) {
  namespace fs = std::filesystem;
  fs::path maildir = fs::path(::testing::TempDir()) / ("agent-maildir-" + std::to_string(::getpid()));
  for (const char* sub : {"new", "cur", "tmp"}) fs::create_directories(maildir / sub);
  std::ofstream(maildir / "new" / "1.leftover") << "X-Smtp-Exporter-Token: old; sent=1000000000\r\n"
                                                   "Subject: [smtp_exporter] old\r\n\r\nbody\r\n";
  FakeSmtpServer server(accepting_server());
  config::Module module = test_module();
  module.send = config::SendConfig{};
  module.send->from = "probe@example.test";
  module.send->to = {"sink@example.test"};
  module.receive = config::ReceiveConfig{};
  module.receive->maildir = maildir.string();
  module.receive->timeout = 200ms;
  module.receive->poll_interval = 100ms;
  boost::asio::io_context io;
  App app(config_with_targets({{"primary", server.port()}}, 1s, module), {});
  app.start_agent(io.get_executor());
  const std::string late = "smtp_exporter_delivery_late_total{target_name=\"primary\",team=\"mail\"} 1";
  std::string body;
  for (auto until = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < until;) {
    io.run_for(100ms);
    body = call(io, app, "GET", "/metrics").body;
    if (body.find(late) != std::string::npos) break;
  }
  EXPECT_THAT(body, HasSubstr(late));
  EXPECT_THAT(body, HasSubstr("# TYPE smtp_exporter_delivery_roundtrip_seconds histogram"));
  EXPECT_THAT(body, HasSubstr("smtp_exporter_delivery_roundtrip_seconds_count{target_name=\"primary\",team=\"mail\"} 0"));
  EXPECT_THAT(body, HasSubstr("smtp_exporter_delivery_roundtrip_seconds_bucket{target_name=\"primary\",team=\"mail\",le=\"0.25\"} 0"));
  EXPECT_THAT(body, Not(HasSubstr("smtp_exporter_delivery_late_total 1")));  // no process-wide series
  EXPECT_FALSE(fs::exists(maildir / "new" / "1.leftover"));
  fs::remove_all(maildir);
}

class Reload : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / ("reload-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    file_ = (dir_ / "smtp_exporter.toml").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(file_) << text; }

  std::filesystem::path dir_;
  std::string file_;
};

TEST_F(Reload, GoodFileIsAppliedAndBadFileKeepsTheOldOne) {
  write("[modules.first]\nport = 25\n");
  exporter::AppOptions options;
  options.config_file = file_;
  boost::asio::io_context io;
  App app(config::load_file(file_), options);

  write("[modules.second]\nport = 2525\n");
  auto ok = call(io, app, "POST", "/-/reload");
  EXPECT_EQ(ok.status, 200);
  EXPECT_TRUE(app.config()->modules.contains("second"));
  EXPECT_THAT(call(io, app, "GET", "/metrics").body, HasSubstr("smtp_exporter_config_last_reload_successful 1"));

  write("[modules.third]\nport = 0\n");
  auto bad = call(io, app, "POST", "/-/reload");
  EXPECT_EQ(bad.status, 500);
  EXPECT_EQ(bad.body, "failed to reload config: " + file_ + ":2:8: modules.third.port: must be between 1 and 65535\n");
  EXPECT_TRUE(app.config()->modules.contains("second")) << "the configuration in force stays";
  EXPECT_THAT(call(io, app, "GET", "/metrics").body, HasSubstr("smtp_exporter_config_last_reload_successful 0"));
  EXPECT_EQ(call(io, app, "GET", "/-/reload").status, 405);
}

TEST_F(Reload, ReloadRestartsTheAgentWithTheNewTargets) {
  FakeSmtpServer first(polite_server());
  FakeSmtpServer second(polite_server());
  auto target = [](const std::string& name, std::uint16_t port) {
    return "[[targets]]\nname = \"" + name + "\"\ntarget = \"127.0.0.1:" + std::to_string(port) +
           "\"\ninterval = \"1s\"\n";
  };
  write("[modules.smtp_banner]\nehlo_name = \"probe.test\"\nip_protocol = \"ip4\"\n" + target("one", first.port()));
  exporter::AppOptions options;
  options.config_file = file_;
  boost::asio::io_context io;
  App app(config::load_file(file_), options);
  app.start_agent(io.get_executor());
  io.run_for(1200ms);  // first runs start within [0, 1s)
  EXPECT_GE(first.connections(), 1);

  write("[modules.smtp_banner]\nehlo_name = \"probe.test\"\nip_protocol = \"ip4\"\n" + target("two", second.port()));
  EXPECT_EQ(call(io, app, "POST", "/-/reload").status, 200);
  io.run_for(50ms);
  const int before = first.connections();
  io.run_for(1200ms);
  EXPECT_GE(second.connections(), 1);
  EXPECT_EQ(first.connections(), before) << "the old target is no longer probed";
  auto health = call(io, app, "GET", "/healthz");
  EXPECT_THAT(health.body, HasSubstr("\"name\":\"two\""));
  EXPECT_THAT(health.body, Not(HasSubstr("\"name\":\"one\"")));
}

// A [[targets]] entry's tags, description and labels reach its /healthz check.
TEST(Agent, HealthzCarriesTheTargetsTagsDescriptionAndLabels) {
  FakeSmtpServer server(polite_server());
  config::Config c = config_with_targets({{"mail", server.port()}}, 1s);
  c.targets.front().tags = {"prod", "edge"};
  c.targets.front().description = "inbound MX of example.org";
  boost::asio::io_context io;
  App app(std::move(c), {});
  app.start_agent(io.get_executor());
  auto pending = call(io, app, "GET", "/healthz");
  EXPECT_THAT(pending.body, HasSubstr("\"tags\":[\"smtp\",\"smtp_banner\",\"prod\",\"edge\"]"));
  EXPECT_THAT(pending.body, HasSubstr("\"data\":{\"target\":\"127.0.0.1:" + std::to_string(server.port()) +
                                      "\",\"module\":\"smtp_banner\",\"description\":\"inbound MX of "
                                      "example.org\",\"labels\":{\"team\":\"mail\"}"));
}

// Without [[targets]], /healthz says that nothing is watched instead of
// answering Healthy with no checks.
TEST(Agent, HealthzWithoutTargetsSaysSo) {
  config::Config c = config_with_targets({}, 1s);
  boost::asio::io_context io;
  App app(std::move(c), {});
  app.start_agent(io.get_executor());
  auto health = call(io, app, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_THAT(health.body, ::testing::StartsWith("{\"status\":\"Degraded\",\"totalDuration\":0,\"checks\":[],"
                                                 "\"description\":\"no [[targets]] in the configuration"));
}

}  // namespace
}  // namespace smtp_exporter::testing
