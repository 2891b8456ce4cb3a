// The probe against a scripted SMTP server: every fault gives the right
// stage and reason, never a hang.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "fake_smtp_server.h"
#include "probe_helpers.h"

namespace smtp_exporter::testing {
namespace {

using namespace std::chrono_literals;
using probes::FailureReason;
using probes::Stage;
using ::testing::ElementsAre;

std::vector<std::string> keywords(const probes::ProbeResult& r) {
  std::vector<std::string> out;
  for (const auto& e : r.extensions) out.push_back(e.keyword);
  return out;
}

std::vector<Stage> stages(const probes::ProbeResult& r) {
  std::vector<Stage> out;
  for (const auto& [stage, _] : r.stage_seconds) out.push_back(stage);
  return out;
}

TEST(Probe, PoliteServerWithMultiLineGreeting) {
  FakeSmtpServer server(polite_server("220-fake.test ESMTP\r\n220-no UCE\r\n220 ready\r\n",
                                      "250-fake.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n"
                                      "250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"));
  auto r = probe_port(server.port());
  EXPECT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_FALSE(r.failure.has_value());
  EXPECT_EQ(r.banner_code, 220);
  EXPECT_THAT(r.banner_lines, ElementsAre("fake.test ESMTP", "no UCE", "ready"));
  EXPECT_THAT(keywords(r), ElementsAre("PIPELINING", "SIZE", "STARTTLS", "AUTH", "8BITMIME"));
  EXPECT_THAT(r.auth_mechanisms, ElementsAre("PLAIN", "LOGIN"));
  EXPECT_EQ(r.size_limit, 1000000u);
  EXPECT_EQ(r.last_code, 250) << "the EHLO reply; QUIT's 221 does not count";
  EXPECT_EQ(r.ip_protocol, 4);
  EXPECT_EQ(r.ip, "127.0.0.1");
  EXPECT_FALSE(r.helo_fallback);
  EXPECT_THAT(stages(r), ElementsAre(Stage::resolve, Stage::connect, Stage::banner, Stage::ehlo, Stage::quit));
  EXPECT_THAT(server.received(), ElementsAre("EHLO probe.test", "QUIT"));
  EXPECT_GT(r.duration_seconds, 0);
  EXPECT_DOUBLE_EQ(r.timeout_seconds, 5.0);
}

TEST(Probe, BannerLatencyMeasuresAnInjectedDelay) {
  FakeSmtpServer server([] {
    Script s = polite_server();
    s.insert(s.begin(), delay(300ms));
    return s;
  }());
  auto r = probe_port(server.port());
  ASSERT_TRUE(r.success);
  ASSERT_TRUE(r.banner_latency_seconds.has_value());
  EXPECT_NEAR(*r.banner_latency_seconds, 0.300, 0.020);
  EXPECT_NEAR(r.seconds_in(Stage::banner).value_or(0), 0.300, 0.020);
}

// Under load the loop runs completion handlers late; the banner latency must
// still be the server's delay (kernel receive timestamps, socket_clock.h),
// not the server's delay plus the time the loop was busy elsewhere.
TEST(Probe, BannerLatencyIsTheServersDelayWhileTheLoopIsBusy) {
  FakeSmtpServer server([] {
    Script s = polite_server();
    s.insert(s.begin(), delay(100ms));
    return s;
  }());
  boost::asio::io_context io;
  probes::ProbeRequest request;
  request.host = "127.0.0.1";
  request.port = server.port();
  request.module = test_module();
  request.timeout = 5s;
  probes::ProbeResult r;
  boost::asio::co_spawn(io, probes::run_probe(request), [&](std::exception_ptr, probes::ProbeResult got) {
    r = std::move(got);
  });
  // Busy from 50 ms to 350 ms: the greeting arrives (at 100 ms) while the
  // loop cannot look at it.
  boost::asio::steady_timer busy(io, 50ms);
  busy.async_wait([](const boost::system::error_code&) { std::this_thread::sleep_for(300ms); });
  auto started = std::chrono::steady_clock::now();
  io.run();
  ASSERT_GE(std::chrono::steady_clock::now() - started, 350ms);
  ASSERT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  ASSERT_TRUE(r.banner_latency_seconds.has_value());
  EXPECT_NEAR(*r.banner_latency_seconds, 0.100, 0.010);
  EXPECT_NEAR(r.seconds_in(Stage::banner).value_or(0), 0.100, 0.010);
}

// The answer is known once QUIT is sent: a server that never replies to it
// holds the probe one second, not until the deadline.
TEST(Probe, UnansweredQuitDoesNotHoldTheProbeUntilTheDeadline) {
  FakeSmtpServer server({send("220 fake.test ESMTP\r\n"), expect("EHLO"), send("250 fake.test\r\n"), expect("QUIT"),
                         stall()});
  auto started = std::chrono::steady_clock::now();
  auto r = probe_port(server.port(), test_module(), 10s);
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 2s);
}

struct GreetingCase {
  const char* name;
  Script script;
  Stage stage;
  FailureReason reason;
  std::optional<int> banner_code;
};

class GreetingFaults : public ::testing::TestWithParam<GreetingCase> {};

TEST_P(GreetingFaults, FailWithStageAndReason) {
  FakeSmtpServer server(GetParam().script);
  auto started = std::chrono::steady_clock::now();
  auto r = probe_port(server.port(), test_module(), 400ms);
  expect_failure(r, GetParam().stage, GetParam().reason);
  EXPECT_EQ(r.banner_code, GetParam().banner_code);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << "the deadline must bound every fault";
}

INSTANTIATE_TEST_SUITE_P(
    Probe, GreetingFaults,
    ::testing::Values(
        GreetingCase{"greeting_421", {send("421 4.3.2 Service not available\r\n"), expect("QUIT"), send("221 bye\r\n")},
                     Stage::banner, FailureReason::unexpected_code, 421},
        GreetingCase{"greeting_554", {send("554 5.3.2 No SMTP service here\r\n"), expect("QUIT"), send("221 bye\r\n")},
                     Stage::banner, FailureReason::unexpected_code, 554},
        GreetingCase{"http_server", {send("HTTP/1.1 400 Bad Request\r\n\r\n"), hang_up()}, Stage::banner,
                     FailureReason::protocol_error, std::nullopt},
        GreetingCase{"binary_garbage", {send(std::string("\x16\x03\x01\x00\xff\x00\x01\r\n", 9)), stall()},
                     Stage::banner, FailureReason::protocol_error, std::nullopt},
        GreetingCase{"control_bytes_in_text", {send(std::string("220 a\0b\r\n", 9)), stall()}, Stage::banner,
                     FailureReason::protocol_error, std::nullopt},
        GreetingCase{"endless_line", {send(std::string(5000, 'x')), stall()}, Stage::banner,
                     FailureReason::protocol_error, std::nullopt},
        GreetingCase{"endless_continuation", {send([] {
                                                std::string s;
                                                for (int i = 0; i < 150; ++i) s += "220-more\r\n";
                                                return s;
                                              }()),
                                              stall()},
                     Stage::banner, FailureReason::protocol_error, std::nullopt},
        GreetingCase{"stalls_forever", {stall()}, Stage::banner, FailureReason::timeout, std::nullopt},
        GreetingCase{"stalls_mid_reply", {send("220-first line\r\n"), stall()}, Stage::banner,
                     FailureReason::timeout, std::nullopt},
        GreetingCase{"closes_immediately", {hang_up()}, Stage::banner, FailureReason::closed, std::nullopt},
        GreetingCase{"closes_mid_line", {send("220 fake.te"), hang_up()}, Stage::banner, FailureReason::closed,
                     std::nullopt},
        GreetingCase{"ehlo_421", {send("220 ok\r\n"), expect("EHLO"), send("421 4.7.0 go away\r\n"), hang_up()},
                     Stage::ehlo, FailureReason::unexpected_code, 220},
        GreetingCase{"ehlo_and_helo_rejected",
                     {send("220 ok\r\n"), expect("EHLO"), send("502 5.5.2 no\r\n"), expect("HELO"),
                      send("501 5.5.4 no either\r\n"), hang_up()},
                     Stage::ehlo, FailureReason::unexpected_code, 220},
        GreetingCase{"ehlo_stalls", {send("220 ok\r\n"), expect("EHLO"), stall()}, Stage::ehlo,
                     FailureReason::timeout, 220},
        GreetingCase{"ehlo_closes", {send("220 ok\r\n"), expect("EHLO"), hang_up()}, Stage::ehlo,
                     FailureReason::closed, 220},
        GreetingCase{"ehlo_garbage", {send("220 ok\r\n"), expect("EHLO"), send("250-ok\r\n251 changed code\r\n"), stall()},
                     Stage::ehlo, FailureReason::protocol_error, 220}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Probe, UnexpectedGreetingStillSaysQuit) {
  FakeSmtpServer server({send("554 no service\r\n"), expect("QUIT"), send("221 bye\r\n")});
  auto r = probe_port(server.port());
  expect_failure(r, Stage::banner, FailureReason::unexpected_code);
  EXPECT_THAT(server.received(), ElementsAre("QUIT"));
  EXPECT_EQ(r.last_code, 554) << "QUIT's 221 is not the status that matters";
}

TEST(Probe, ExpectedRefusalEndsTheProbeSuccessfullyAfterTheGreeting) {
  FakeSmtpServer server({send("554 5.7.1 you are blocked\r\n"), expect("QUIT"), send("221 bye\r\n")});
  auto module = test_module();
  module.expect_banner_code = 554;  // e.g. checking that a blocklist rejects us
  auto r = probe_port(server.port(), module);
  EXPECT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_EQ(r.banner_code, 554);
  EXPECT_THAT(server.received(), ElementsAre("QUIT"));
}

TEST(Probe, WithoutAnEhloNameTheProbeUsesAnAddressLiteral) {
  FakeSmtpServer server(polite_server());
  auto module = test_module();
  module.ehlo_name.clear();
  auto r = probe_port(server.port(), module);
  EXPECT_TRUE(r.success);
  EXPECT_THAT(server.received(), ElementsAre("EHLO [127.0.0.1]", "QUIT"));
}

TEST(Probe, RejectedEhloAndHeloStillSayQuit) {
  FakeSmtpServer server({send("220 ok\r\n"), expect("EHLO"), send("550 no\r\n"), expect("HELO"),
                         send("550 no either\r\n"), expect("QUIT"), send("221 bye\r\n")});
  auto r = probe_port(server.port());
  expect_failure(r, Stage::ehlo, FailureReason::unexpected_code);
  EXPECT_EQ(r.last_code, 550);
  EXPECT_THAT(server.received(), ElementsAre("EHLO probe.test", "HELO probe.test", "QUIT"));
}

TEST(Probe, FallsBackToHeloWhenEhloIsRejected) {
  FakeSmtpServer server({send("220 old.test SMTP\r\n"), expect("EHLO"), send("500 5.5.1 what?\r\n"), expect("HELO"),
                         send("250 old.test\r\n"), expect("QUIT"), send("221 bye\r\n"), hang_up()});
  auto r = probe_port(server.port());
  EXPECT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_TRUE(r.helo_fallback);
  EXPECT_TRUE(r.extensions.empty());
  EXPECT_THAT(server.received(), ElementsAre("EHLO probe.test", "HELO probe.test", "QUIT"));
}

TEST(Probe, ServerHangingUpOnQuitIsStillASuccess) {
  FakeSmtpServer server({send("220 ok\r\n"), expect("EHLO"), send("250 ok\r\n"), expect("QUIT"), hang_up()});
  auto r = probe_port(server.port());
  EXPECT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_EQ(r.last_code, 250);
}

TEST(Probe, RefusedConnection) {
  std::uint16_t port;
  {
    FakeSmtpServer server({hang_up()});  // reserve a free port, then free it
    port = server.port();
  }
  auto r = probe_port(port);
  expect_failure(r, Stage::connect, FailureReason::refused);
  EXPECT_FALSE(r.banner_code.has_value());
  EXPECT_EQ(r.ip_protocol, 4);
}

TEST(Probe, IpProtocolPreferenceWithoutFallbackRejectsTheOtherFamily) {
  auto module = test_module();
  module.ip_protocol = config::IpProtocol::ip6;
  module.ip_protocol_fallback = false;
  auto r = probe_port(25, module, 1s, "127.0.0.1");
  expect_failure(r, Stage::resolve, FailureReason::nodata);
  EXPECT_FALSE(r.ip_protocol.has_value());
}

TEST(Probe, IpProtocolFallbackUsesTheOtherFamily) {
  FakeSmtpServer server(polite_server());
  auto module = test_module();
  module.ip_protocol = config::IpProtocol::ip6;  // 127.0.0.1 has no IPv6 address: fall back to IPv4
  auto r = probe_port(server.port(), module);
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.ip_protocol, 4);
}

TEST(Probe, ResolvesHostNames) {
  FakeSmtpServer server(polite_server());
  auto r = probe_port(server.port(), test_module(), 5s, "localhost");
  EXPECT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_EQ(r.ip, "127.0.0.1");
  EXPECT_TRUE(r.seconds_in(Stage::resolve).has_value());
}

TEST(Probe, LogRecordsTheConversation) {
  FakeSmtpServer server(polite_server());
  auto r = probe_port(server.port());
  std::vector<std::string> exchanged;
  for (const auto& e : r.log)
    if (e.kind == probes::LogEntry::Kind::sent || e.kind == probes::LogEntry::Kind::received)
      exchanged.push_back((e.kind == probes::LogEntry::Kind::sent ? "> " : "< ") + e.text);
  EXPECT_THAT(exchanged, ElementsAre("< 220 fake.test ESMTP", "> EHLO probe.test", "< 250-fake.test",
                                     "< 250-PIPELINING", "< 250-SIZE 1000000", "< 250 8BITMIME", "> QUIT",
                                     "< 221 2.0.0 Bye"));
}

}  // namespace
}  // namespace smtp_exporter::testing
