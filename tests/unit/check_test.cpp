// The check command's pure parts: its flags, the report model, and the text
// and JSON printing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/check.h"
#include "smtp_exporter/health.h"
#include "views/check_report.h"

namespace smtp_exporter::exporter {
namespace {

using namespace std::chrono_literals;
using probes::FailureReason;
using probes::Health;
using probes::ProbeResult;
using probes::Stage;
using testing::HasSubstr;
using testing::Not;
using Args = std::vector<std::string>;

// ---- flags -----------------------------------------------------------------------------

CheckOptions parse(const Args& args) {
  std::string error;
  auto options = parse_check_flags(args, error);
  EXPECT_TRUE(options.has_value()) << error;
  return options.value_or(CheckOptions{});
}

std::string parse_error(const Args& args) {
  std::string error;
  auto options = parse_check_flags(args, error);
  EXPECT_FALSE(options.has_value());
  return error;
}

TEST(CheckFlags, TargetAndDefaults) {
  auto o = parse({"mail.example.com"});
  EXPECT_EQ(o.target, "mail.example.com");
  EXPECT_EQ(o.module, "");
  EXPECT_EQ(o.config_file, "");
  EXPECT_FALSE(o.json);
  EXPECT_FALSE(o.timeout.has_value());
  EXPECT_EQ(o.hostname, "");
  EXPECT_FALSE(o.remediation_markdown);
}

TEST(CheckFlags, EqualsAndSeparateValueForms) {
  for (const Args& args :
       {Args{"--module=submission", "--config.file=/etc/s.toml", "--output=json", "--timeout=30s",
             "--hostname=mail.example.com", "192.0.2.25:587"},
        Args{"192.0.2.25:587", "--module", "submission", "--config.file", "/etc/s.toml", "--output", "json",
             "--timeout", "30s", "--hostname", "mail.example.com"}}) {
    auto o = parse(args);
    EXPECT_EQ(o.target, "192.0.2.25:587");
    EXPECT_EQ(o.module, "submission");
    EXPECT_EQ(o.config_file, "/etc/s.toml");
    EXPECT_TRUE(o.json);
    EXPECT_EQ(o.timeout, std::chrono::milliseconds(30s));
    EXPECT_EQ(o.hostname, "mail.example.com");
  }
  EXPECT_TRUE(parse({"--remediation-markdown"}).remediation_markdown);  // no TARGET needed
  EXPECT_TRUE(parse({"--help"}).help);
  EXPECT_TRUE(parse({"-h"}).help);
  EXPECT_EQ(parse({"mx:example.com"}).target, "mx:example.com");
}

TEST(CheckFlags, ErrorsSayWhatIsWrong) {
  EXPECT_EQ(parse_error({}), "missing TARGET");
  EXPECT_THAT(parse_error({"a.example", "b.example"}), HasSubstr("unexpected argument \"b.example\""));
  EXPECT_EQ(parse_error({"x", "--nope"}), "unknown flag --nope");
  EXPECT_EQ(parse_error({"x", "--module"}), "flag --module needs a value");
  EXPECT_EQ(parse_error({"x", "--help=yes"}), "flag --help takes no value");
  EXPECT_THAT(parse_error({"x", "--output=xml"}), HasSubstr("neither text nor json"));
  EXPECT_THAT(parse_error({"x", "--timeout=soon"}), HasSubstr("--timeout: \"soon\""));
  EXPECT_THAT(parse_error({"x", "--timeout=0s"}), HasSubstr("positive duration"));
  EXPECT_THAT(parse_error({"x", "--hostname=mail.example.com:25"}), HasSubstr("must not have a port"));
  EXPECT_THAT(parse_error({"x", "--hostname=bad name"}), HasSubstr("--hostname:"));
}

TEST(CheckFlags, UsageListsEveryFlagAndTheExitCodes) {
  const std::string text = check_usage();
  for (const char* flag : {"--module", "--config.file", "--output", "--timeout", "--hostname", "--remediation-markdown"})
    EXPECT_THAT(text, HasSubstr(flag));
  EXPECT_THAT(text, HasSubstr("0 healthy, 1 degraded, 2 unhealthy, 3 usage"));
}

// ---- a tiny JSON validator (RFC 8259 syntax) -------------------------------------------

class Json {
 public:
  static bool valid(std::string_view text) {
    Json j{text};
    j.ws();
    if (!j.value()) return false;
    j.ws();
    return j.at_ == text.size();
  }

 private:
  explicit Json(std::string_view t) : t_(t) {}
  std::string_view t_;
  std::size_t at_ = 0;
  char peek() const { return at_ < t_.size() ? t_[at_] : '\0'; }
  void ws() {
    while (peek() == ' ' || peek() == '\n' || peek() == '\t' || peek() == '\r') ++at_;
  }
  bool literal(std::string_view word) {
    if (t_.substr(at_, word.size()) != word) return false;
    at_ += word.size();
    return true;
  }
  bool string() {
    if (peek() != '"') return false;
    for (++at_; at_ < t_.size(); ++at_) {
      auto c = static_cast<unsigned char>(t_[at_]);
      if (c < 0x20) return false;
      if (c == '"') return ++at_, true;
      if (c == '\\') {
        char e = at_ + 1 < t_.size() ? t_[++at_] : '\0';
        if (e == 'u') {
          for (int k = 0; k < 4; ++k)
            if (!std::isxdigit(static_cast<unsigned char>(at_ + 1 < t_.size() ? t_[++at_] : 'x'))) return false;
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return false;
        }
      }
    }
    return false;
  }
  bool number() {
    std::size_t start = at_;
    if (peek() == '-') ++at_;
    if (!std::isdigit(static_cast<unsigned char>(peek()))) return false;
    if (peek() == '0') {
      ++at_;
    } else {
      while (std::isdigit(static_cast<unsigned char>(peek()))) ++at_;
    }
    if (peek() == '.') {
      ++at_;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) return false;
      while (std::isdigit(static_cast<unsigned char>(peek()))) ++at_;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++at_;
      if (peek() == '+' || peek() == '-') ++at_;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) return false;
      while (std::isdigit(static_cast<unsigned char>(peek()))) ++at_;
    }
    return at_ > start;
  }
  bool value() {
    switch (peek()) {
      case '{': return members('}', true);
      case '[': return members(']', false);
      case '"': return string();
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }
  bool members(char close, bool object) {
    ++at_;
    ws();
    if (peek() == close) return ++at_, true;
    while (true) {
      ws();
      if (object) {
        if (!string()) return false;
        ws();
        if (peek() != ':') return false;
        ++at_;
        ws();
      }
      if (!value()) return false;
      ws();
      if (peek() == close) return ++at_, true;
      if (peek() != ',') return false;
      ++at_;
    }
  }
};

TEST(JsonValidator, Sanity) {
  EXPECT_TRUE(Json::valid(R"({"a":[1,2.5,-3e2,true,null,"x\"\u00e9"],"b":{}})"));
  EXPECT_FALSE(Json::valid(R"({"a":1,})"));
  EXPECT_FALSE(Json::valid("{\"a\":\"\x01\"}"));
  EXPECT_FALSE(Json::valid(R"({"a":nan})"));
}

// ---- report ----------------------------------------------------------------------------

CheckSubject subject(std::string target = "127.0.0.1:2525", config::TlsMode tls = config::TlsMode::none) {
  CheckSubject s;
  s.target = target;
  s.host = "127.0.0.1";
  s.port = 2525;
  s.module_name = tls == config::TlsMode::none ? "smtp_banner" : "smtp_starttls";
  s.module.tls = tls;
  return s;
}

ProbeResult refused() {
  ProbeResult r;
  r.ip = "127.0.0.1";
  r.ip_protocol = 4;
  r.duration_seconds = 0.0004;
  r.stage_seconds = {{Stage::resolve, 0.000002}, {Stage::connect, 0.0003}};
  r.failure = probes::Failure{Stage::connect, FailureReason::refused, "Connection refused"};
  r.health = {Health::unhealthy, {"connect failed (refused): Connection refused"}};
  return r;
}

ProbeResult starttls_unknown_ca() {
  ProbeResult r;
  r.ip = "127.0.0.1";
  r.ip_protocol = 4;
  r.stage_seconds = {{Stage::resolve, 0.000002}, {Stage::connect, 0.0003}, {Stage::banner, 0.0001},
                     {Stage::ehlo, 0.0002},      {Stage::starttls, 0.0001}, {Stage::tls, 0.006},
                     {Stage::quit, 0.0001}};
  r.banner_code = 220;
  r.banner_latency_seconds = 0.0001;
  r.banner_lines = {"mail.example.test ESMTP Postfix"};
  r.extensions = {{"PIPELINING", ""}, {"SIZE", "10240000"}, {"STARTTLS", ""}};
  r.starttls_offered = true;
  r.tls = probes::TlsInfo{};
  r.tls->version = "TLS 1.3";
  r.tls->cipher = "TLS_AES_256_GCM_SHA384";
  r.tls->server_name = "mail.example.test";
  r.tls->verify_errors = {"unknown_ca"};
  r.tls->verify_detail = "unable to get local issuer certificate";
  r.tls->presented_chain = {{1700000000, 1800000000, "CN=mail.example.test", "CN=Test CA", "01", "ab"}};
  r.tls->leaf_days_to_expiry = 29.99;
  r.tls_established = true;
  r.failure = probes::Failure{Stage::starttls, FailureReason::certificate_error,
                              "certificate not verified (unknown_ca): unable to get local issuer certificate"};
  r.health = {Health::unhealthy, {"starttls failed (certificate_error): certificate not verified (unknown_ca)"}};
  return r;
}

TEST(CheckReport, StatusNamesAndExitCodes) {
  EXPECT_EQ(probes::title(Health::healthy), "Healthy");
  EXPECT_EQ(probes::title(Health::degraded), "Degraded");
  EXPECT_EQ(probes::title(Health::unhealthy), "Unhealthy");
  EXPECT_EQ(exit_code(Health::healthy), 0);
  EXPECT_EQ(exit_code(Health::degraded), 1);
  EXPECT_EQ(exit_code(Health::unhealthy), 2);
}

TEST(CheckReport, TheFailingStageIsMarked) {
  CheckReport report = build_report(subject(), refused());
  ASSERT_EQ(report.stages.size(), 2u);
  EXPECT_TRUE(report.stages[0].ok);
  EXPECT_EQ(report.stages[0].outcome, "ok");
  EXPECT_FALSE(report.stages[1].ok);
  EXPECT_EQ(report.stages[1].outcome, "refused: Connection refused");
}

TEST(CheckReport, AHandshakeFailureAfterStarttlsIsTheTlsPhase) {
  CheckReport report = build_report(subject("127.0.0.1:2525", config::TlsMode::starttls), starttls_unknown_ca());
  for (const auto& stage : report.stages) EXPECT_EQ(stage.ok, stage.name != "tls") << stage.name;
}

TEST(CheckReport, RemediationIsFilledInForTheTarget) {
  CheckReport report = build_report(subject(), refused());
  ASSERT_EQ(report.remediation.size(), 1u);
  EXPECT_EQ(report.remediation[0].key, "connect/refused");
  EXPECT_THAT(report.remediation[0].fixes, testing::Contains(HasSubstr("`nc -vz 127.0.0.1 2525`")));
  EXPECT_EQ(report.recheck, "smtp_exporter check 127.0.0.1:2525 --module smtp_banner");
}

TEST(CheckReport, ContextForTls) {
  CheckSubject s = subject("127.0.0.1:2525", config::TlsMode::starttls);
  s.server_name = "mail.example.test";
  s.config_file = "/tmp/my config.toml";
  CheckReport report = build_report(s, starttls_unknown_ca());
  ASSERT_FALSE(report.remediation.empty());
  EXPECT_EQ(report.remediation[0].key, "tls/certificate_error/unknown_ca");
  EXPECT_THAT(report.remediation[0].fixes,
              testing::Contains(HasSubstr(
                  "openssl s_client -starttls smtp -connect 127.0.0.1:2525 -servername mail.example.test")));
  EXPECT_EQ(report.recheck,
            "smtp_exporter check 127.0.0.1:2525 --module smtp_starttls --hostname mail.example.test "
            "--config.file '/tmp/my config.toml'");

  s.module.tls = config::TlsMode::implicit;
  ProbeResult implicit = starttls_unknown_ca();
  implicit.failure->stage = Stage::tls;
  report = build_report(s, implicit);
  EXPECT_THAT(report.remediation[0].fixes,
              testing::Contains(HasSubstr("openssl s_client -connect 127.0.0.1:2525 -servername mail.example.test")));
}

TEST(CheckReport, ContextForAMailDomain) {
  CheckSubject s = subject("mx:example.test");
  s.host = "example.test";
  s.port = 25;
  s.mx = true;
  ProbeResult r;
  r.mx = probes::MxInfo{};
  r.mx->domain = "example.test";  // as the MX unit records it
  r.mx->records = {{"mx1.example.test", 10}, {"mx2.example.test", 20}};
  ProbeResult ok;
  ok.success = true;
  r.mx_hosts.push_back({"mx1.example.test", 10, "192.0.2.1", true, ok});
  r.mx_hosts.push_back({"mx2.example.test", 20, "192.0.2.2", false, refused()});
  RemediationContext c = remediation_context(s, r);
  EXPECT_EQ(c.domain, "example.test");
  EXPECT_EQ(c.host, "mx2.example.test");  // the failing host
  EXPECT_EQ(c.address, "192.0.2.2");
  EXPECT_EQ(c.port, "25");

  CheckSubject plain = subject("mail.example.com");
  plain.host = "mail.example.com";
  EXPECT_EQ(remediation_context(plain, ProbeResult{}).domain, "example.com");
  plain.host = "example.com";
  EXPECT_EQ(remediation_context(plain, ProbeResult{}).domain, "example.com");
  plain.host = "192.0.2.25";
  EXPECT_EQ(remediation_context(plain, ProbeResult{}).domain, "192.0.2.25");
}

TEST(CheckText, RefusedReport) {
  const std::string text = render_check_text(build_report(subject(), refused()));
  EXPECT_THAT(text, testing::StartsWith("Check of 127.0.0.1:2525 with module smtp_banner: Unhealthy"));
  EXPECT_THAT(text, HasSubstr("  connect     0.300 ms  refused: Connection refused\n"));
  EXPECT_THAT(text, HasSubstr("Failure       connect failed (refused): Connection refused"));
  EXPECT_THAT(text, HasSubstr("Findings:\n  - connect failed (refused): Connection refused\n"));
  EXPECT_THAT(text, HasSubstr("connect/refused: Connection refused\n  Likely causes:\n"));
  EXPECT_THAT(text, HasSubstr("  How to fix:\n    Debian / systemd:\n"));
  EXPECT_THAT(text, HasSubstr("`nc -vz 127.0.0.1 2525`"));
  EXPECT_THAT(text, HasSubstr("    Docker:\n"));
  EXPECT_THAT(text, HasSubstr("    Kubernetes:\n"));
  EXPECT_THAT(text, HasSubstr("Check again: smtp_exporter check 127.0.0.1:2525 --module smtp_banner\n"));
}

TEST(CheckText, TlsFacts) {
  const std::string text =
      render_check_text(build_report(subject("127.0.0.1:2525", config::TlsMode::starttls), starttls_unknown_ca()));
  EXPECT_THAT(text, HasSubstr("Greeting      220 mail.example.test ESMTP Postfix"));
  EXPECT_THAT(text, HasSubstr("Extensions    PIPELINING, SIZE 10240000, STARTTLS (over TLS)"));
  EXPECT_THAT(text, HasSubstr("TLS           TLS 1.3, TLS_AES_256_GCM_SHA384 (server name mail.example.test)"));
  EXPECT_THAT(text, HasSubstr("Certificate   subject CN=mail.example.test"));
  EXPECT_THAT(text, HasSubstr("issuer  CN=Test CA"));
  EXPECT_THAT(text, HasSubstr("expires 2027-01-15 08:00:00 UTC (29 days left)"));
  EXPECT_THAT(text, HasSubstr("Verification  failed: unknown_ca (unable to get local issuer certificate)"));
}

TEST(CheckText, HealthyReportHasNoAdvice) {
  ProbeResult r;
  r.success = true;
  r.ip = "127.0.0.1";
  r.stage_seconds = {{Stage::resolve, 0.000002}, {Stage::connect, 0.0003}};
  r.banner_code = 220;
  r.banner_lines = {"one", "two"};
  const std::string text = render_check_text(build_report(subject(), r));
  EXPECT_THAT(text, testing::StartsWith("Check of 127.0.0.1:2525 with module smtp_banner: Healthy"));
  EXPECT_THAT(text, HasSubstr("Greeting      220 one\n                220 two\n"));
  EXPECT_THAT(text, HasSubstr("Findings:\n  none"));
  EXPECT_THAT(text, Not(HasSubstr("Likely causes")));
}

TEST(CheckText, ServerTextIsMadeSafe) {
  ProbeResult r = refused();
  r.failure->detail = "bad\x1b[31m \xff ok \xc3\xa9";
  const std::string text = render_check_text(build_report(subject(), r));
  EXPECT_THAT(text, HasSubstr("bad\\x1B[31m \\xFF ok \xc3\xa9"));
}

TEST(CheckJson, ShapeAndValidity) {
  for (const auto& [s, r] : {std::pair{subject(), refused()},
                             std::pair{subject("127.0.0.1:2525", config::TlsMode::starttls), starttls_unknown_ca()}}) {
    ProbeResult weird = r;
    weird.failure->detail = "quote \" backslash \\ control \x01 byte \xff";
    const std::string json = render_check_json(build_report(s, weird));
    EXPECT_TRUE(Json::valid(json)) << json;
    EXPECT_EQ(json.back(), '\n');
    for (const char* key : {"\"target\":", "\"module\":", "\"status\":\"Unhealthy\"", "\"durationMs\":", "\"stages\":[",
                            "\"failure\":{\"stage\":", "\"findings\":[", "\"remediation\":[{\"key\":", "\"tls\":",
                            "\"mx\":null", "\"causes\":[", "\"fixes\":["})
      EXPECT_THAT(json, HasSubstr(key));
  }
  const std::string tls =
      render_check_json(build_report(subject("127.0.0.1:2525", config::TlsMode::starttls), starttls_unknown_ca()));
  EXPECT_THAT(tls, HasSubstr("\"tls\":{\"version\":\"TLS 1.3\""));
  EXPECT_THAT(tls, HasSubstr("\"verifyErrors\":[\"unknown_ca\"]"));
  EXPECT_THAT(tls, HasSubstr("\"notAfter\":\"2027-01-15T08:00:00.000Z\""));
  EXPECT_THAT(tls, HasSubstr("{\"name\":\"tls\",\"seconds\":0.006,\"ok\":false}"));

  ProbeResult healthy;
  healthy.success = true;
  const std::string ok = render_check_json(build_report(subject(), healthy));
  EXPECT_TRUE(Json::valid(ok)) << ok;
  EXPECT_THAT(ok, HasSubstr("\"status\":\"Healthy\""));
  EXPECT_THAT(ok, HasSubstr("\"failure\":null"));
  EXPECT_THAT(ok, HasSubstr("\"tls\":null"));
  EXPECT_THAT(ok, HasSubstr("\"remediation\":[]"));
}

TEST(CheckJson, HostileStringsAndNumbers) {
  // Server text: control characters, an escape sequence, invalid UTF-8 (a
  // lone continuation byte, a truncated sequence, an overlong form), valid UTF-8.
  const std::string hostile = "ctl\x01 esc\x1b[31m nl\n lone\x80 cut\xc3 long\xc0\xaf ok caf\xc3\xa9 \"q\" \\";
  // What the report keeps of it (safe_text: \xNN for the rest), as JSON text.
  const std::string safe = R"(ctl\\x01 esc\\x1B[31m nl\\x0A lone\\x80 cut\\xC3 long\\xC0\\xAF ok caf)"
                           "\xc3\xa9"
                           R"( \"q\" \\)";
  CheckSubject s = subject("127.0.0.1:2525", config::TlsMode::starttls);
  s.module_name = hostile;
  ProbeResult r = starttls_unknown_ca();
  r.banner_lines = {hostile};
  r.extensions.push_back({"X-" + hostile, hostile});
  r.tls->verify_detail = hostile;
  r.failure = probes::Failure{Stage::tls, FailureReason::certificate_error, hostile};
  r.health.findings = {hostile};
  r.duration_seconds = 0.0123456789123;
  r.timeout_seconds = 10;
  const std::string json = render_check_json(build_report(s, r));
  EXPECT_TRUE(Json::valid(json)) << json;
  EXPECT_TRUE(nlohmann::json::accept(json)) << "valid JSON and UTF-8";
  EXPECT_EQ(std::count(json.begin(), json.end(), '\n'), 1) << "one line";
  for (const std::string key : {"\"module\":", "\"lines\":[", "\"verifyDetail\":", "\"detail\":", "\"findings\":["})
    EXPECT_THAT(json, HasSubstr(key + "\"" + safe + "\"")) << key;
  EXPECT_THAT(json, HasSubstr("\"X-" + safe + " " + safe + "\""));
  EXPECT_THAT(json, HasSubstr("\"durationMs\":12.3456789,\"timeoutSeconds\":10,"));
  EXPECT_THAT(json, HasSubstr("{\"name\":\"resolve\",\"seconds\":2e-06,\"ok\":true}"));
  EXPECT_THAT(json, HasSubstr("\"latencySeconds\":0.0001}"));
}

// Each finding with a stable id for machines: the failure's remediation key,
// a unit finding's own key; severity, category and the troubleshooting URL.
TEST(CheckJson, FindingDetails) {
  ProbeResult r = refused();
  r.health = probes::classify_health(r, config::Module{});
  auto json = nlohmann::json::parse(render_check_json(build_report(subject(), r)));
  ASSERT_EQ(json["findingDetails"].size(), 1u);
  const auto& failure = json["findingDetails"][0];
  EXPECT_EQ(failure["checkId"], "connect/refused");
  EXPECT_EQ(failure["severity"], "unhealthy");
  EXPECT_EQ(failure["category"], "connect");
  EXPECT_EQ(failure["runbook_url"],
            "https://github.com/smtp-exporter/smtp_exporter/blob/main/docs/troubleshooting.md#connect-refused");
  EXPECT_EQ(failure["text"], json["findings"][0]);

  ProbeResult expiring = starttls_unknown_ca();
  expiring.failure.reset();
  expiring.tls->verify_errors.clear();
  expiring.tls->verified = true;
  expiring.tls->leaf_days_to_expiry = 4.999;
  expiring.health = probes::classify_health(expiring, config::Module{});
  json = nlohmann::json::parse(render_check_json(build_report(subject(), expiring)));
  ASSERT_EQ(json["findingDetails"].size(), 1u);
  EXPECT_EQ(json["findingDetails"][0]["checkId"], "health/cert_expiring");
  EXPECT_EQ(json["findingDetails"][0]["severity"], "degraded");
  EXPECT_EQ(json["findingDetails"][0]["category"], "tls");
  // One rounding rule: 4.999 days is "4 days" in the finding and in the facts.
  EXPECT_THAT(json["findings"][0].get<std::string>(), HasSubstr("expires in 4 days"));
  EXPECT_THAT(render_check_text(build_report(subject(), expiring)), HasSubstr("(4 days left)"));
  expiring.tls->leaf_days_to_expiry = -2.01;
  EXPECT_THAT(render_check_text(build_report(subject(), expiring)), HasSubstr("(expired 2 days ago)"));
}

// After a failed handshake the extensions are the ones advertised before TLS.
TEST(CheckText, ExtensionsBeforeAFailedHandshake) {
  ProbeResult r = starttls_unknown_ca();
  r.tls.reset();
  r.tls_established = false;
  r.failure = probes::Failure{Stage::starttls, FailureReason::tls_error, "TLS handshake: alert"};
  const std::string text = render_check_text(build_report(subject("127.0.0.1:2525", config::TlsMode::starttls), r));
  EXPECT_THAT(text, HasSubstr("Extensions    PIPELINING, SIZE 10240000, STARTTLS (before TLS)\n"));
}

TEST(CheckJson, MailDomain) {
  CheckSubject s = subject("mx:example.test");
  s.host = "example.test";
  s.port = 25;
  s.mx = true;
  ProbeResult r;
  r.mx = probes::MxInfo{};
  r.mx->domain = "example.test";  // as the MX unit records it
  r.mx->records = {{"mx1.example.test", 10}};
  r.mx->reachable = 0;
  r.mx_hosts.push_back({"mx1.example.test", 10, "192.0.2.1", false, refused()});
  r.failure = probes::Failure{Stage::connect, FailureReason::no_reachable_mx, "none of the 1 MX address(es)"};
  r.health = {Health::unhealthy, {"connect failed (no_reachable_mx): none"}};
  CheckReport report = build_report(s, r);
  const std::string json = render_check_json(report);
  EXPECT_TRUE(Json::valid(json)) << json;
  EXPECT_THAT(json, HasSubstr("\"mx\":{\"domain\":\"example.test\",\"records\":[{\"exchange\":\"mx1.example.test\","
                              "\"preference\":10}],\"implicit\":false,\"nullMx\":false,\"reachable\":0,\"hosts\":[{"));
  const std::string text = render_check_text(report);
  EXPECT_THAT(text, HasSubstr("MX records    10 mx1.example.test"));
  EXPECT_THAT(text, HasSubstr("Reachable     0 of 1 MX host(s)"));
  EXPECT_THAT(text, HasSubstr("    mx1.example.test (preference 10, 192.0.2.1): connect failed (refused)"));
  EXPECT_THAT(text, HasSubstr("connect/no_reachable_mx"));
  EXPECT_THAT(text, HasSubstr("`nc -vz mx1.example.test 25`"));
}

// ---- the command's usage errors (no probe runs) ----------------------------------------

int run(const Args& args, std::string& out, std::string& err) {
  std::ostringstream o, e;
  int code = run_check(args, o, e);
  out = o.str();
  err = e.str();
  return code;
}

TEST(RunCheck, UsageErrorsExit3WithOneLine) {
  std::string out, err;
  for (const Args& args : {Args{}, Args{"--nope", "x"}, Args{"x", "--module=nope"}, Args{"bad target!"},
                           Args{"x", "--config.file=/nonexistent/smtp_exporter.toml"}}) {
    EXPECT_EQ(run(args, out, err), kCheckUsageError) << testing::PrintToString(args);
    EXPECT_EQ(out, "");
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  }
  run({"x", "--module=nope"}, out, err);
  EXPECT_THAT(err, HasSubstr("unknown module \"nope\""));
  run({"bad target!"}, out, err);
  EXPECT_THAT(err, HasSubstr("invalid target:"));
}

// Only the module in use needs its secret: an unrelated module whose
// password_env is unset does not stop `check`, the module itself does.
TEST(RunCheck, OnlyTheModuleInUseNeedsItsSecret) {
  const std::string path = testing::TempDir() + "check-secrets.toml";
  {
    std::ofstream file(path);
    file << "[modules.plain]\ntimeout = \"1s\"\n"
            "[modules.submission]\ntls = \"starttls\"\n"
            "[modules.submission.auth]\nusername = \"probe\"\npassword_env = \"SMTP_EXPORTER_TEST_UNSET_SECRET\"\n";
  }
  ::unsetenv("SMTP_EXPORTER_TEST_UNSET_SECRET");
  std::string out, err;
  // Port 1 on loopback: refused at once, so the probe runs and fails (2), it is no usage error (3).
  EXPECT_EQ(run({"127.0.0.1:1", "--module=plain", "--config.file=" + path}, out, err), kCheckUnhealthy) << err;
  EXPECT_EQ(run({"127.0.0.1:1", "--module=submission", "--config.file=" + path}, out, err), kCheckUsageError);
  EXPECT_THAT(err, HasSubstr("check-secrets.toml:7:16: "));
  EXPECT_THAT(err, HasSubstr("modules.submission.auth.password_env: environment variable "
                             "SMTP_EXPORTER_TEST_UNSET_SECRET is not set"));
  // The server and the agent still need every module's secret at start.
  EXPECT_THROW(config::load_file(path), config::ConfigError);
  std::remove(path.c_str());
}

TEST(RunCheck, HelpAndMarkdownExit0) {
  std::string out, err;
  EXPECT_EQ(run({"--help"}, out, err), 0);
  EXPECT_THAT(out, HasSubstr("usage: smtp_exporter check TARGET"));
  EXPECT_EQ(run({"--remediation-markdown"}, out, err), 0);
  EXPECT_EQ(out, remediation_markdown());
}

}  // namespace
}  // namespace smtp_exporter::exporter
