// quit_after, expect_code and a server that closes mid-transaction, against
// the scripted server: where the conversation stops, what ends a negative
// check successfully, and what fails it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_smtp_server.h"
#include "probe_helpers.h"
#include "smtp_exporter/render.h"
#include "test_pki.h"

namespace smtp_exporter::testing {
namespace {

using namespace std::chrono_literals;
using probes::FailureReason;
using probes::Stage;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const std::string kGreeting = "220 fake.test ESMTP\r\n";
const std::string kEhlo = "250-fake.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n";

// An unauthenticated test message to `to` (the open-relay check's shape).
config::Module message_module(std::vector<std::string> to) {
  config::Module m = test_module();
  config::SendConfig send;
  send.from = "probe@example.test";
  send.to = std::move(to);
  m.send = send;
  return m;
}

// Greeting, EHLO, `middle`, and a QUIT that is answered.
Script session(Script middle, std::string ehlo = kEhlo) {
  Script s{send(kGreeting), expect("EHLO"), send(std::move(ehlo))};
  s.insert(s.end(), middle.begin(), middle.end());
  s.insert(s.end(), {expect("QUIT"), send("221 2.0.0 Bye\r\n"), hang_up()});
  return s;
}

std::string log_text(const probes::ProbeResult& r) {
  std::string out;
  for (const auto& e : r.log) out += e.text + "\n";
  return out;
}

TEST(QuitAfter, RcptChecksRecipientsWithoutSending) {
  FakeSmtpServer server(session({expect("MAIL FROM:<probe@example.test>"), send("250 2.1.0 Ok\r\n"),
                                 expect("RCPT TO:<sink@example.test>"), send("250 2.1.5 Ok\r\n")}));
  config::Module m = message_module({"sink@example.test"});
  m.quit_after = config::Step::rcpt;
  auto r = probe_port(server.port(), m);
  ASSERT_TRUE(r.success) << r.failure->detail;
  EXPECT_THAT(server.received(),
              ElementsAre("EHLO probe.test", "MAIL FROM:<probe@example.test>", "RCPT TO:<sink@example.test>", "QUIT"));
  EXPECT_FALSE(r.message_accepted);
  EXPECT_THAT(r.message_token, IsEmpty());
  EXPECT_FALSE(r.seconds_in(Stage::data).has_value());
  EXPECT_THAT(log_text(r), HasSubstr("Stopping after rcpt (quit_after)"));
  EXPECT_THAT(exporter::render_metrics(r), HasSubstr("probe_smtp_rcpt_status_code{recipient=\"sink@example.test\"} 250"));
}

TEST(QuitAfter, MailStopsBeforeRecipients) {
  FakeSmtpServer server(session({expect("MAIL FROM:<probe@example.test>"), send("250 2.1.0 Ok\r\n")}));
  config::Module m = message_module({"sink@example.test"});
  m.quit_after = config::Step::mail;
  auto r = probe_port(server.port(), m);
  ASSERT_TRUE(r.success) << r.failure->detail;
  EXPECT_THAT(server.received(), ElementsAre("EHLO probe.test", "MAIL FROM:<probe@example.test>", "QUIT"));
  EXPECT_THAT(r.recipients, IsEmpty());
}

TEST(QuitAfter, BannerAndEhloAndConnect) {
  {
    FakeSmtpServer server({send(kGreeting), expect("QUIT"), send("221 Bye\r\n"), hang_up()});
    config::Module m = test_module();
    m.quit_after = config::Step::banner;
    auto r = probe_port(server.port(), m);
    ASSERT_TRUE(r.success) << r.failure->detail;
    EXPECT_THAT(server.received(), ElementsAre("QUIT"));
    EXPECT_EQ(r.banner_code, 220);
  }
  {
    FakeSmtpServer server(session({}));
    config::Module m = message_module({"sink@example.test"});
    m.quit_after = config::Step::ehlo;  // before the configured message
    auto r = probe_port(server.port(), m);
    ASSERT_TRUE(r.success) << r.failure->detail;
    EXPECT_THAT(server.received(), ElementsAre("EHLO probe.test", "QUIT"));
  }
  {
    // Connect only: not even the greeting is awaited (a server that never
    // greets still passes, as blackbox_exporter's tcp_connect).
    FakeSmtpServer server({stall()});
    config::Module m = test_module();
    m.quit_after = config::Step::connect;
    auto started = std::chrono::steady_clock::now();
    auto r = probe_port(server.port(), m);
    ASSERT_TRUE(r.success) << r.failure->detail;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
    EXPECT_FALSE(r.banner_code.has_value());
    EXPECT_THAT(server.received(), IsEmpty());
  }
}

TEST(QuitAfter, TlsStopsOnceTheCertificateIsSeen) {
  TestPki pki;
  Issued leaf = pki.issue({"mail.example.test", {"mail.example.test"}, {"127.0.0.1"}}, pki.root());
  TlsIdentity identity{pki.chain_file({&leaf}), leaf.key_file};
  FakeSmtpServer server({send(kGreeting), expect("EHLO"),
                         send("250-fake.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n"), expect("STARTTLS"),
                         send("220 2.0.0 Ready to start TLS\r\n"), start_tls(identity), expect("QUIT"),
                         send("221 Bye\r\n"), hang_up()});
  config::Module m = test_module();
  m.tls = config::TlsMode::starttls;
  m.tls_config.ca_file = pki.root().cert_file;
  m.tls_config.server_name = "mail.example.test";
  m.quit_after = config::Step::tls;
  auto r = probe_port(server.port(), m);
  ASSERT_TRUE(r.success) << r.failure->detail;
  EXPECT_THAT(server.received(), ElementsAre("EHLO probe.test", "STARTTLS", "QUIT")) << "no EHLO over TLS";
  ASSERT_TRUE(r.tls.has_value());
  EXPECT_TRUE(r.tls->verified);
}

// The open-relay check: a foreign recipient must be refused.
config::Module open_relay_module(std::vector<std::string> to = {"someone@foreign.example"}) {
  config::Module m = message_module(std::move(to));
  m.quit_after = config::Step::rcpt;
  m.expect_code["rcpt"] = {"5xx"};
  return m;
}

TEST(ExpectCode, RelayRefusedIsSuccess) {
  FakeSmtpServer server(session({expect("MAIL FROM"), send("250 2.1.0 Ok\r\n"), expect("RCPT TO"),
                                 send("554 5.7.1 <someone@foreign.example>: Relay access denied\r\n")}));
  auto r = probe_port(server.port(), open_relay_module());
  ASSERT_TRUE(r.success) << r.failure->detail;
  EXPECT_EQ(server.received().back(), "QUIT");
  EXPECT_EQ(r.last_code, 554);
  EXPECT_EQ(r.enhanced_status_code, "5.7.1");
  EXPECT_THAT(log_text(r), HasSubstr("answered 554 as expected (expect_code)"));
  std::string metrics = exporter::render_metrics(r);
  EXPECT_THAT(metrics, HasSubstr("probe_success 1"));
  EXPECT_THAT(metrics, HasSubstr("probe_smtp_rcpt_status_code{recipient=\"someone@foreign.example\"} 554"));
}

TEST(ExpectCode, RelayAcceptedFails) {
  FakeSmtpServer server(session({expect("MAIL FROM"), send("250 2.1.0 Ok\r\n"), expect("RCPT TO"),
                                 send("250 2.1.5 Ok\r\n")}));
  auto r = probe_port(server.port(), open_relay_module());
  expect_failure(r, Stage::rcpt, FailureReason::unexpected_code);
  EXPECT_THAT(r.failure->detail, HasSubstr("RCPT TO:<someone@foreign.example> answered 250, expected 5xx"));
  EXPECT_THAT(server.received(), Not(::testing::Contains("DATA")));
}

TEST(ExpectCode, EveryRecipientIsJudged) {
  FakeSmtpServer server(session({expect("MAIL FROM"), send("250 2.1.0 Ok\r\n"), expect("RCPT TO:<a@"),
                                 send("554 5.7.1 Relay access denied\r\n"), expect("RCPT TO:<b@"),
                                 send("250 2.1.5 Ok\r\n")}));
  auto r = probe_port(server.port(), open_relay_module({"a@foreign.example", "b@foreign.example"}));
  expect_failure(r, Stage::rcpt, FailureReason::unexpected_code);
  EXPECT_THAT(r.failure->detail, HasSubstr("<b@foreign.example> answered 250"));
}

TEST(ExpectCode, GreylistingStaysTemporary) {
  FakeSmtpServer server(session({expect("MAIL FROM"), send("250 2.1.0 Ok\r\n"), expect("RCPT TO"),
                                 send("450 4.2.0 Greylisted, try again\r\n")}));
  auto r = probe_port(server.port(), open_relay_module());
  expect_failure(r, Stage::rcpt, FailureReason::temporary_failure);
}

TEST(ExpectCode, AuthRefusedBeforeTlsSendsNoCredentials) {
  FakeSmtpServer server(session({expect("AUTH PLAIN"), send("530 5.7.0 Must issue a STARTTLS command first\r\n")}));
  config::Module m = test_module();
  m.expect_code["auth"] = {"530", "503"};
  auto r = probe_port(server.port(), m);
  ASSERT_TRUE(r.success) << r.failure->detail;
  EXPECT_THAT(server.received(), ElementsAre("EHLO probe.test", "AUTH PLAIN", "QUIT"));
  EXPECT_EQ(r.last_code, 530);
  EXPECT_FALSE(r.auth_success.has_value()) << "no login was attempted";
}

TEST(ExpectCode, AuthAcceptedIsCancelledAndFails) {
  FakeSmtpServer server(session({expect("AUTH LOGIN"), send("334 VXNlcm5hbWU6\r\n"), expect("*"),
                                 send("501 5.7.0 Authentication aborted\r\n")},
                                "250-fake.test\r\n250 AUTH LOGIN\r\n"));
  config::Module m = test_module();
  m.expect_code["auth"] = {"530"};
  auto r = probe_port(server.port(), m);
  expect_failure(r, Stage::auth, FailureReason::unexpected_code);
  EXPECT_THAT(r.failure->detail, HasSubstr("AUTH LOGIN answered 334, expected 530"));
  EXPECT_THAT(server.received(), ElementsAre("EHLO probe.test", "AUTH LOGIN", "*", "QUIT"));
  EXPECT_EQ(r.last_code, 334);
}

TEST(ExpectCode, MessageRejectedAsExpected) {
  // E.g. a GTUBE body that the content filter must refuse.
  Script middle{expect("MAIL FROM"), send("250 2.1.0 Ok\r\n"), expect("RCPT TO"), send("250 2.1.5 Ok\r\n"),
                expect("DATA"), send("354 go ahead\r\n")};
  for (int i = 0; i < 9; ++i) middle.push_back(expect(""));  // 6 header lines, blank, body, "."
  middle.push_back(send("554 5.7.1 Spam message rejected\r\n"));
  FakeSmtpServer server(session(middle));
  config::Module m = message_module({"sink@example.test"});
  m.expect_code["data"] = {"554"};
  auto r = probe_port(server.port(), m);
  ASSERT_TRUE(r.success) << r.failure->detail;
  EXPECT_FALSE(r.message_accepted);
  EXPECT_EQ(server.received().back(), "QUIT");
  EXPECT_THAT(exporter::render_metrics(r), Not(HasSubstr("probe_smtp_message_info")));
}

// 421 (RFC 5321 §3.8): the server closes the session in the middle of the
// transaction. A temporary failure at that stage, retried like greylisting.
TEST(ServiceClosing, Code421MidTransactionIsTemporaryAndRetried) {
  Script closing{send(kGreeting), expect("EHLO"), send(kEhlo), expect("MAIL FROM"),
                 send("421 4.3.2 Service shutting down, closing transmission channel\r\n"), hang_up()};
  {
    FakeSmtpServer server(closing);
    auto r = probe_port(server.port(), message_module({"sink@example.test"}));
    expect_failure(r, Stage::mail, FailureReason::temporary_failure);
    EXPECT_EQ(r.attempts, 1);
    EXPECT_EQ(r.enhanced_status_code, "4.3.2");
  }
  Script accepting = session({expect("MAIL FROM"), send("250 2.1.0 Ok\r\n"), expect("RCPT TO"),
                              send("250 2.1.5 Ok\r\n")});
  FakeSmtpServer server({closing, accepting});
  config::Module m = message_module({"sink@example.test"});
  m.quit_after = config::Step::rcpt;
  m.retries = 1;
  m.retry_delay = 20ms;
  auto r = probe_port(server.port(), m);
  ASSERT_TRUE(r.success) << r.failure->detail;
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(server.connections(), 2);
}

}  // namespace
}  // namespace smtp_exporter::testing
