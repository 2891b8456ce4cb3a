// SMTP AUTH and the test message against the scripted server: what goes on
// the wire (exact base64, exact DATA), every failure's stage and reason, and
// that the password shows up nowhere.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "fake_smtp_server.h"
#include "probe_helpers.h"
#include "http/healthz.h"
#include "smtp_exporter/render.h"
#include "views/check_report.h"
#include "test_pki.h"

namespace smtp_exporter::testing {
namespace {

using namespace std::chrono_literals;
using probes::FailureReason;
using probes::Stage;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kPassword = "s3cr3t";
const std::string kEhloAuth = "250-fake.test\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n250 8BITMIME\r\n";

config::Module auth_module(std::vector<std::string> mechanisms = {"CRAM-MD5", "LOGIN", "PLAIN"}) {
  config::Module m = test_module();
  config::AuthConfig auth;
  auth.username = "probe@example.test";
  auth.password_env = "SMTP_EXPORTER_TEST_PASSWORD";
  auth.password = kPassword;
  auth.mechanisms = std::move(mechanisms);
  auth.allow_plaintext_auth = true;
  m.auth = auth;
  return m;
}

// Greeting and EHLO, then `middle`, then QUIT.
Script conversation(std::string ehlo, Script middle) {
  Script s{send("220 fake.test ESMTP\r\n"), expect("EHLO"), send(std::move(ehlo))};
  s.insert(s.end(), middle.begin(), middle.end());
  s.push_back(expect("QUIT"));
  s.push_back(send("221 2.0.0 Bye\r\n"));
  s.push_back(hang_up());
  return s;
}

std::string log_text(const probes::ProbeResult& r) {
  std::string out;
  for (const auto& e : r.log) out += e.text + "\n";
  return out;
}

std::string b64(const std::string& data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

TEST(Auth, PlainSendsExactCredentials) {
  FakeSmtpServer server(conversation(kEhloAuth, {expect("AUTH PLAIN"), send("235 2.7.0 Authentication successful\r\n")}));
  auto r = probe_port(server.port(), auth_module({"PLAIN"}));
  EXPECT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_THAT(server.received(),
              ElementsAre("EHLO probe.test", "AUTH PLAIN AHByb2JlQGV4YW1wbGUudGVzdABzM2NyM3Q=", "QUIT"));
  EXPECT_EQ(r.auth_success, true);
  EXPECT_EQ(r.auth_mechanism, "PLAIN");
  EXPECT_EQ(r.enhanced_status_code, "2.7.0");
  EXPECT_TRUE(r.seconds_in(Stage::auth).has_value());
  EXPECT_THAT(log_text(r), HasSubstr("AUTH PLAIN <credentials hidden>"));
  EXPECT_THAT(log_text(r), Not(HasSubstr("AHByb2Jl")));
}

TEST(Auth, LoginSendsUserThenPassword) {
  FakeSmtpServer server(conversation(kEhloAuth, {expect("AUTH LOGIN"), send("334 VXNlcm5hbWU6\r\n"), expect(""),
                                                 send("334 UGFzc3dvcmQ6\r\n"), expect(""),
                                                 send("235 2.7.0 ok\r\n")}));
  auto r = probe_port(server.port(), auth_module({"LOGIN", "PLAIN"}));
  EXPECT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_THAT(server.received(),
              ElementsAre("EHLO probe.test", "AUTH LOGIN", "cHJvYmVAZXhhbXBsZS50ZXN0", "czNjcjN0", "QUIT"));
  EXPECT_EQ(r.auth_mechanism, "LOGIN");
  EXPECT_THAT(log_text(r), Not(HasSubstr("czNjcjN0")));
}

TEST(Auth, CramMd5AnswersTheChallenge) {
  const std::string challenge = "<12345.678@fake.test>";
  FakeSmtpServer server(conversation(kEhloAuth, {expect("AUTH CRAM-MD5"), send("334 " + b64(challenge) + "\r\n"),
                                                 expect(""), send("235 2.7.0 ok\r\n")}));
  auto r = probe_port(server.port(), auth_module());  // CRAM-MD5 is preferred by default
  EXPECT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  unsigned char digest[16];
  unsigned int length = 0;
  HMAC(EVP_md5(), kPassword.data(), static_cast<int>(kPassword.size()),
       reinterpret_cast<const unsigned char*>(challenge.data()), challenge.size(), digest, &length);
  ASSERT_EQ(length, 16u);
  char hex[33];
  for (int i = 0; i < 16; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  EXPECT_THAT(server.received(),
              ElementsAre("EHLO probe.test", "AUTH CRAM-MD5", b64("probe@example.test " + std::string(hex)), "QUIT"));
  EXPECT_EQ(r.auth_mechanism, "CRAM-MD5");
}

TEST(Auth, RejectedCredentialsAreAuthError) {
  FakeSmtpServer server(conversation(kEhloAuth, {expect("AUTH PLAIN"),
                                                 send("535 5.7.8 Authentication credentials invalid\r\n")}));
  auto r = probe_port(server.port(), auth_module({"PLAIN"}));
  expect_failure(r, Stage::auth, FailureReason::auth_error);
  EXPECT_EQ(r.auth_success, false);
  EXPECT_EQ(r.enhanced_status_code, "5.7.8");
  EXPECT_EQ(r.last_code, 535);
  std::string metrics = exporter::render_metrics(r);
  EXPECT_THAT(metrics, HasSubstr("probe_smtp_auth_success 0"));
  EXPECT_THAT(metrics, HasSubstr("probe_smtp_enhanced_status_code_info{code=\"5.7.8\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("probe_smtp_failure_info{reason=\"auth_error\",stage=\"auth\"} 1"));
}

TEST(Auth, TemporaryFailure) {
  FakeSmtpServer server(conversation(kEhloAuth, {expect("AUTH PLAIN"), send("454 4.7.0 try later\r\n")}));
  expect_failure(probe_port(server.port(), auth_module({"PLAIN"})), Stage::auth, FailureReason::temporary_failure);
}

TEST(Auth, NotOffered) {
  FakeSmtpServer server(polite_server());
  auto r = probe_port(server.port(), auth_module());
  expect_failure(r, Stage::auth, FailureReason::not_offered);
  EXPECT_THAT(server.received(), ElementsAre("EHLO probe.test", "QUIT"));
}

TEST(Auth, NoCommonMechanism) {
  FakeSmtpServer server(polite_server("220 fake.test ESMTP\r\n", "250-fake.test\r\n250 AUTH GSSAPI XOAUTH2\r\n"));
  auto r = probe_port(server.port(), auth_module());
  expect_failure(r, Stage::auth, FailureReason::not_offered);
  EXPECT_THAT(r.failure->detail, HasSubstr("GSSAPI XOAUTH2"));
}

TEST(Auth, PlaintextRefusedWithoutTls) {
  FakeSmtpServer server(polite_server("220 fake.test ESMTP\r\n", kEhloAuth));
  config::Module m = auth_module();
  m.auth->allow_plaintext_auth = false;
  auto r = probe_port(server.port(), m);
  expect_failure(r, Stage::auth, FailureReason::plaintext_auth_refused);
  EXPECT_THAT(server.received(), ElementsAre("EHLO probe.test", "QUIT")) << "no AUTH line sent";
}

TEST(Auth, PlainOverImplicitTls) {
  TestPki pki;
  Issued leaf = pki.issue({"mail.example.test", {"mail.example.test"}, {"127.0.0.1"}}, pki.root());
  TlsIdentity identity{pki.chain_file({&leaf}), leaf.key_file};
  FakeSmtpServer server({start_tls(identity), send("220 fake.test ESMTP\r\n"), expect("EHLO"), send(kEhloAuth),
                         expect("AUTH PLAIN"), send("235 2.7.0 ok\r\n"), expect("QUIT"), send("221 bye\r\n"),
                         hang_up()});
  config::Module m = auth_module({"PLAIN"});
  m.auth->allow_plaintext_auth = false;
  m.tls = config::TlsMode::implicit;
  m.tls_config.ca_file = pki.root().cert_file;
  m.tls_config.server_name = "mail.example.test";
  auto r = probe_port(server.port(), m);
  EXPECT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_EQ(r.auth_success, true);
}

config::Module send_module() {
  config::Module m = auth_module({"PLAIN"});
  config::SendConfig send;
  send.from = "probe@example.test";
  send.to = {"sink@example.test", "other@example.test"};
  send.subject_prefix = "[smtp_exporter]";
  send.body = "first line\n.hidden\nlast";
  send.headers = {{"X-Probe", "yes"}};
  m.send = send;
  return m;
}

Script send_conversation(std::string rcpt2 = "250 2.1.5 Ok\r\n", std::string after_data = "250 2.0.0 Ok: queued\r\n") {
  const bool accepted = rcpt2.starts_with("250");
  Script s{expect("AUTH PLAIN"), send("235 2.7.0 ok\r\n"), expect("MAIL FROM:<probe@example.test>"),
           send("250 2.1.0 Ok\r\n"), expect("RCPT TO:<sink@example.test>"), send("250 2.1.5 Ok\r\n"),
           expect("RCPT TO:<other@example.test>"), send(std::move(rcpt2))};
  if (accepted) {
    s.push_back(expect("DATA"));
    s.push_back(send("354 End data with <CR><LF>.<CR><LF>\r\n"));
    for (int i = 0; i < 12; ++i) s.push_back(expect(""));  // 7 header lines, blank, 3 body lines, "."
    s.push_back(send(std::move(after_data)));
  }
  return s;
}

TEST(Send, MessageIsDotStuffedAndAccepted) {
  FakeSmtpServer server(conversation(kEhloAuth, send_conversation()));
  auto r = probe_port(server.port(), send_module());
  ASSERT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_TRUE(r.message_accepted);
  ASSERT_TRUE(std::regex_match(r.message_token, std::regex("[a-z0-9]{6}"))) << r.message_token;
  auto lines = server.received();
  ASSERT_EQ(lines.size(), 19u);
  EXPECT_EQ(lines[5], "DATA");
  std::string data;
  for (std::size_t i = 6; i < 18; ++i) data += lines[i] + "\r\n";
  std::smatch m;
  ASSERT_TRUE(std::regex_search(lines[8], m,
                                std::regex("^Subject: \\[smtp_exporter\\] (\\d{4})-(\\d\\d)-(\\d\\d)T(\\d\\d):(\\d\\d):("
                                           "\\d\\d)Z ([a-z0-9]{6})$")))
      << lines[8];
  std::string stamp = m[1].str() + "-" + m[2].str() + "-" + m[3].str() + "T" + m[4].str() + ":" + m[5].str() + ":" +
                      m[6].str() + "Z";
  std::string compact = m[1].str() + m[2].str() + m[3].str() + "T" + m[4].str() + m[5].str() + m[6].str() + "Z";
  EXPECT_EQ(m[7].str(), r.message_token);
  EXPECT_TRUE(std::regex_match(lines[9], std::regex(R"(Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000)")))
      << lines[9];
  std::string expected = "From: <probe@example.test>\r\n"
                         "To: <sink@example.test>, <other@example.test>\r\n"
                         "Subject: [smtp_exporter] " + stamp + " " + r.message_token + "\r\n" +
                         lines[9] + "\r\n"
                         "Message-ID: <smtp-exporter." + r.message_token + "." + compact + "@probe.test>\r\n"
                         "X-Smtp-Exporter-Token: " + r.message_token + "; sent=" + std::to_string(r.message_sent_unix) + "\r\n"
                         "X-Probe: yes\r\n"
                         "\r\n"
                         "first line\r\n"
                         "..hidden\r\n"
                         "last\r\n"
                         ".\r\n";
  EXPECT_EQ(data, expected);
  for (Stage s : {Stage::auth, Stage::mail, Stage::rcpt, Stage::data}) EXPECT_TRUE(r.seconds_in(s).has_value());
  std::string metrics = exporter::render_metrics(r);
  EXPECT_THAT(metrics, HasSubstr("probe_smtp_message_info{token=\"" + r.message_token + "\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("probe_smtp_rcpt_status_code{recipient=\"other@example.test\"} 250"));
  EXPECT_THAT(metrics, HasSubstr("probe_smtp_auth_mechanism_used_info{mechanism=\"PLAIN\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("probe_smtp_duration_seconds{phase=\"data\"}"));
  EXPECT_THAT(metrics, HasSubstr("probe_smtp_enhanced_status_code_info{code=\"2.0.0\"} 1"));
}

TEST(Send, DataRejectedIsPermanentFailure) {
  FakeSmtpServer server(
      conversation(kEhloAuth, send_conversation("250 2.1.5 Ok\r\n", "552 5.3.4 Message size exceeds fixed limit\r\n")));
  auto r = probe_port(server.port(), send_module());
  expect_failure(r, Stage::data, FailureReason::permanent_failure);
  EXPECT_FALSE(r.message_accepted);
  EXPECT_EQ(r.enhanced_status_code, "5.3.4");
  EXPECT_THAT(exporter::render_metrics(r), Not(HasSubstr("probe_smtp_message_info")));
}

TEST(Send, GreylistedRecipientIsTemporaryFailure) {
  FakeSmtpServer server(conversation(kEhloAuth, send_conversation("450 4.2.0 Greylisted\r\n")));
  auto r = probe_port(server.port(), send_module());
  expect_failure(r, Stage::rcpt, FailureReason::temporary_failure);
  ASSERT_EQ(r.recipients.size(), 2u);
  EXPECT_EQ(r.recipients[0].code, 250);
  EXPECT_EQ(r.recipients[1].code, 450);
  EXPECT_EQ(r.enhanced_status_code, "4.2.0");
  EXPECT_EQ(server.received().back(), "QUIT") << "no DATA after a refused recipient";
}

TEST(Send, TemporaryFailuresAreRetriedOnANewConnection) {
  FakeSmtpServer server(conversation(kEhloAuth, send_conversation("450 4.2.0 Greylisted\r\n")));
  config::Module m = send_module();
  m.retries = 2;
  m.retry_delay = 50ms;
  auto started = std::chrono::steady_clock::now();
  auto r = probe_port(server.port(), m);
  expect_failure(r, Stage::rcpt, FailureReason::temporary_failure);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(server.connections(), 3);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 100ms);
  EXPECT_EQ(r.recipients.size(), 2u) << "the last attempt's recipients only";
  EXPECT_THAT(log_text(r), HasSubstr("retrying in 50ms (attempt 3 of 3)"));
  EXPECT_THAT(exporter::render_metrics(r), HasSubstr("probe_smtp_attempts 3"));
}

TEST(Send, GreylistingPassesOnTheSecondAttempt) {
  FakeSmtpServer server({conversation(kEhloAuth, send_conversation("450 4.2.0 Greylisted\r\n")),
                         conversation(kEhloAuth, send_conversation())});
  config::Module m = send_module();
  m.retries = 2;
  m.retry_delay = 50ms;
  auto r = probe_port(server.port(), m);
  EXPECT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(server.connections(), 2);
  EXPECT_THAT(exporter::render_metrics(r), HasSubstr("probe_smtp_attempts 2"));
  EXPECT_THAT(exporter::render_metrics(r), HasSubstr("probe_smtp_message_info{token=\""));
}

// What the send reports outside /probe: the first attempt's temporary failure
// in the result, the `check` report (text and JSON) and /healthz's data.
TEST(Send, RetriedAttemptsAreReportedEverywhere) {
  FakeSmtpServer server({conversation(kEhloAuth, send_conversation("450 4.2.0 Greylisted\r\n")),
                         conversation(kEhloAuth, send_conversation())});
  config::Module m = send_module();
  m.retries = 1;
  m.retry_delay = 20ms;
  auto r = probe_port(server.port(), m);
  ASSERT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  ASSERT_EQ(r.retried.size(), 1u);
  EXPECT_EQ(r.retried[0].stage, Stage::rcpt);
  EXPECT_EQ(r.retried[0].reason, FailureReason::temporary_failure);
  ASSERT_FALSE(r.message_token.empty());

  exporter::CheckSubject subject;
  subject.target = "127.0.0.1:" + std::to_string(server.port());
  subject.host = "127.0.0.1";
  subject.port = server.port();
  subject.module_name = "send";
  subject.module = m;
  auto report = exporter::build_report(subject, r);
  const std::string text = exporter::render_check_text(report);
  EXPECT_THAT(text, HasSubstr("Attempts      2 (retried after a temporary failure)\n"));
  EXPECT_THAT(text, HasSubstr("attempt 1: rcpt failed (temporary_failure): RCPT TO:<"));
  EXPECT_THAT(text, HasSubstr("Message       accepted, token " + r.message_token));
  EXPECT_THAT(text, HasSubstr(" 250 (accepted)"));
  auto json = nlohmann::json::parse(exporter::render_check_json(report));
  EXPECT_EQ(json["send"]["attempts"], 2);
  EXPECT_EQ(json["send"]["token"], r.message_token);
  EXPECT_EQ(json["send"]["messageAccepted"], true);
  EXPECT_EQ(json["send"]["attemptErrors"][0]["reason"], "temporary_failure");
  EXPECT_EQ(json["send"]["recipients"][0]["code"], 250);

  exporter::TargetStatus status;
  status.target.name = "send";
  status.target.target = subject.target;
  status.target.module = "send";
  status.port = server.port();
  status.last = r;
  auto healthz = nlohmann::json::parse(exporter::health_report({status}).json);
  const auto& data = healthz["checks"][0]["data"];
  EXPECT_EQ(data["attempts"], 2);
  EXPECT_EQ(data["attemptErrors"], nlohmann::json::array({"temporary_failure"}));
  EXPECT_EQ(data["messageToken"], r.message_token);
  EXPECT_EQ(data["recipients"][0]["code"], 250);
}

TEST(Send, PermanentFailuresAndLateRetriesAreNotRetried) {
  FakeSmtpServer server(
      conversation(kEhloAuth, send_conversation("250 2.1.5 Ok\r\n", "554 5.7.1 Rejected\r\n")));
  config::Module m = send_module();
  m.retries = 2;
  m.retry_delay = 10ms;
  auto r = probe_port(server.port(), m);
  expect_failure(r, Stage::data, FailureReason::permanent_failure);
  EXPECT_EQ(r.attempts, 1);

  FakeSmtpServer greylisting(conversation(kEhloAuth, send_conversation("450 4.2.0 Greylisted\r\n")));
  m.retry_delay = 10s;  // beyond the 5 s deadline
  r = probe_port(greylisting.port(), m);
  expect_failure(r, Stage::rcpt, FailureReason::temporary_failure);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_THAT(log_text(r), HasSubstr("would pass the deadline"));
}

TEST(Send, PasswordAppearsNowhere) {
  for (const char* mechanism : {"PLAIN", "LOGIN"}) {
    Script s = std::string(mechanism) == "PLAIN"
                   ? Script{expect("AUTH PLAIN"), send("535 5.7.8 no\r\n")}
                   : Script{expect("AUTH LOGIN"), send("334 VXNlcm5hbWU6\r\n"), expect(""),
                            send("334 UGFzc3dvcmQ6\r\n"), expect(""), send("535 5.7.8 no\r\n")};
    FakeSmtpServer server(conversation(kEhloAuth, s));
    config::Module m = send_module();
    m.auth->mechanisms = {mechanism};
    auto r = probe_port(server.port(), m);
    std::string metrics = exporter::render_metrics(r);
    std::string debug = exporter::render_debug(r, metrics, "submit", m);
    for (const std::string& secret : {kPassword, b64(kPassword), b64(std::string(1, '\0') + "probe@example.test" +
                                                                     std::string(1, '\0') + kPassword)}) {
      EXPECT_THAT(debug, Not(HasSubstr(secret))) << mechanism;
      EXPECT_THAT(config::to_toml("submit", m), Not(HasSubstr(secret)));
      EXPECT_THAT(r.failure->detail, Not(HasSubstr(secret)));
    }
    EXPECT_THAT(debug, HasSubstr("password_env = 'SMTP_EXPORTER_TEST_PASSWORD'"));
  }
}

}  // namespace
}  // namespace smtp_exporter::testing
