// The JSON the exporter writes besides `check` (tested in check_test.cpp):
// the /healthz report and JSON log lines. Both are built with nlohmann::json;
// these tests pin their shape and what happens to hostile strings.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/healthz.h"
#include "smtp_exporter/log.h"
#include "views/json.h"

namespace smtp_exporter::exporter {
namespace {

using testing::HasSubstr;
using testing::StartsWith;

// A control character, an escape sequence, a lone continuation byte, a
// truncated sequence and valid UTF-8.
const std::string kHostile = "ctl\x01 esc\x1b[31m nl\n lone\x80 cut\xc3 ok caf\xc3\xa9 \"q\" \\";
// kHostile as it reads back from the JSON: invalid bytes became U+FFFD.
const std::string kHostileRead = "ctl\x01 esc\x1b[31m nl\n lone\xef\xbf\xbd cut\xef\xbf\xbd ok caf\xc3\xa9 \"q\" \\";

TEST(JsonDump, InvalidUtf8IsReplacedAndControlCharactersEscaped) {
  const std::string text = json::dump(json::Value{{"s", kHostile}});
  EXPECT_EQ(text,
            "{\"s\":\"ctl\\u0001 esc\\u001b[31m nl\\n lone\xef\xbf\xbd cut\xef\xbf\xbd ok caf\xc3\xa9 \\\"q\\\" "
            "\\\\\"}");
  EXPECT_EQ(nlohmann::json::parse(text)["s"], kHostileRead);
}

TEST(JsonDump, RoundedNumbers) {
  EXPECT_EQ(json::dump(json::rounded(12.3456, "%.2f")), "12.35");
  EXPECT_EQ(json::dump(json::rounded(12.3, "%.2f")), "12.3");
  EXPECT_EQ(json::dump(json::rounded(0, "%.2f")), "0");
  EXPECT_EQ(json::dump(json::rounded(1.23456789012, "%.9g")), "1.23456789");
  EXPECT_EQ(json::dump(json::rounded(10, "%.9g")), "10");
  EXPECT_EQ(json::dump(json::rounded(0.006, "%.9g")), "0.006");
  EXPECT_EQ(json::dump(json::rounded(-3.5, "%.9g")), "-3.5");
  EXPECT_EQ(json::dump(json::rounded(1.0 / 0.0, "%.9g")), "null");
}

TargetStatus probed(std::string name, probes::ProbeResult r) {
  TargetStatus t;
  t.target.name = std::move(name);
  t.target.target = "127.0.0.1:25";
  t.target.module = "smtp_banner";
  t.port = 25;
  t.last = std::move(r);
  t.finished_at = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  return t;
}

TEST(Healthz, ShapeKeyOrderAndNumbers) {
  probes::ProbeResult ok;
  ok.success = true;
  ok.duration_seconds = 0.0123456;
  ok.banner_latency_seconds = 0.004;
  TargetStatus pending;
  pending.target.name = "later";
  pending.target.target = "mx:example.test";
  pending.target.module = "smtp_starttls";
  HealthReport report = health_report({probed("good", ok), pending});
  EXPECT_EQ(report.http_status, 200);
  EXPECT_EQ(report.json,
            "{\"status\":\"Degraded\",\"totalDuration\":12.35,\"checks\":["
            "{\"name\":\"good\",\"status\":\"Healthy\",\"duration\":12.35,"
            "\"description\":\"SMTP server accepting connections on port 25\",\"tags\":[\"smtp\",\"smtp_banner\"],"
            "\"data\":{\"target\":\"127.0.0.1:25\",\"module\":\"smtp_banner\",\"lastProbe\":\"2027-01-15T08:00:00.000Z\","
            "\"success\":true,\"bannerLatencySeconds\":0.004,\"bannerLatencyMs\":4}},"
            "{\"name\":\"later\",\"status\":\"Degraded\",\"duration\":0,\"description\":\"not probed yet\","
            "\"tags\":[\"smtp\",\"smtp_starttls\"],"
            "\"data\":{\"target\":\"mx:example.test\",\"module\":\"smtp_starttls\",\"probed\":false}}]}\n");
}

TEST(Healthz, HostileStringsStayValidJson) {
  probes::ProbeResult r;
  r.failure = probes::Failure{probes::Stage::banner, probes::FailureReason::protocol_error, kHostile};
  r.health = {probes::Health::unhealthy, {kHostile}};
  HealthReport report = health_report({probed(kHostile, r)});
  EXPECT_EQ(report.http_status, 503);
  EXPECT_THAT(report.json, StartsWith("{\"status\":\"Unhealthy\""));
  nlohmann::json parsed = nlohmann::json::parse(report.json);  // throws on invalid JSON or UTF-8
  EXPECT_EQ(parsed["checks"][0]["name"], kHostileRead);
  EXPECT_EQ(parsed["checks"][0]["description"], kHostileRead);
  EXPECT_EQ(parsed["checks"][0]["data"]["failureReason"], "protocol_error");
}

TEST(LogLine, JsonKeysInOrder) {
  EXPECT_EQ(log::format_line(log::Format::json, log::Level::warn, "2027-01-15T08:00:00.000Z", "probe finished",
                             {{"target", "127.0.0.1:25"}, {"success", "false"}}),
            "{\"ts\":\"2027-01-15T08:00:00.000Z\",\"level\":\"warn\",\"msg\":\"probe finished\","
            "\"target\":\"127.0.0.1:25\",\"success\":\"false\"}");
  EXPECT_EQ(log::format_line(log::Format::logfmt, log::Level::warn, "2027-01-15T08:00:00.000Z", "probe finished",
                             {{"target", "127.0.0.1:25"}, {"success", "false"}}),
            "ts=2027-01-15T08:00:00.000Z level=warn msg=\"probe finished\" target=127.0.0.1:25 success=false");
}

TEST(LogLine, HostileStringsStayValidJson) {
  const std::string line =
      log::format_line(log::Format::json, log::Level::info, "t", kHostile, {{"detail", kHostile}, {kHostile, "v"}});
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line";
  nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(line);
  EXPECT_EQ(parsed["msg"], kHostileRead);
  EXPECT_EQ(parsed["detail"], kHostileRead);
  EXPECT_EQ(parsed[kHostileRead], "v");
  EXPECT_EQ(parsed.begin().key(), "ts");
}

// Days are cut, not rounded, like the text: 4.999 days is 4.99 and "4 more days".
TEST(Healthz, DaysAgreeWithTheText) {
  probes::ProbeResult r;
  r.success = true;
  r.tls = probes::TlsInfo{};
  r.tls->version = "TLS 1.3";
  r.tls->leaf_days_to_expiry = 4.999;
  auto json = nlohmann::json::parse(health_report({probed("t", r)}).json);
  EXPECT_EQ(json["checks"][0]["data"]["daysToExpiry"], 4.99);
  EXPECT_THAT(json["checks"][0]["description"].get<std::string>(), testing::HasSubstr("valid for 4 more days"));
}

}  // namespace
}  // namespace smtp_exporter::exporter
