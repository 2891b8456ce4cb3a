// ProbeResult → Prometheus text exposition, and the debug page. The text is
// parsed back into series so the tests do not depend on the order of the
// series within a family.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "smtp_exporter/render.h"

namespace smtp_exporter::exporter {
namespace {

using namespace std::chrono_literals;
using testing::HasSubstr;
using probes::FailureReason;
using probes::ProbeResult;
using probes::Stage;
using Series = std::map<std::string, double>;  // "name{label=value,...}" (raw values, sorted labels) → value

struct Exposition {
  Series series;
  std::map<std::string, std::string> help, type;
};

// Minimal text-format 0.0.4 parser: enough for what the renderer writes.
Exposition parse(const std::string& text) {
  Exposition out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      std::string rest = line.substr(7);
      std::size_t space = rest.find(' ');
      (line[2] == 'H' ? out.help : out.type)[rest.substr(0, space)] = rest.substr(space + 1);
      continue;
    }
    std::size_t pos = line.find_first_of("{ ");
    std::string key = line.substr(0, pos);
    std::map<std::string, std::string> labels;
    if (pos != std::string::npos && line[pos] == '{') {
      ++pos;
      while (line.at(pos) != '}') {
        std::size_t eq = line.find("=\"", pos);
        std::string name = line.substr(pos, eq - pos), value;
        for (pos = eq + 2; line.at(pos) != '"'; ++pos) {
          if (line[pos] != '\\') {
            value += line[pos];
            continue;
          }
          char escaped = line.at(++pos);
          value += escaped == 'n' ? '\n' : escaped;
          EXPECT_TRUE(escaped == 'n' || escaped == '\\' || escaped == '"') << line;
        }
        labels[name] = value;
        if (line.at(++pos) == ',') ++pos;
      }
      ++pos;
      std::string joined;
      for (const auto& [name, value] : labels) joined += (joined.empty() ? "" : ",") + name + "=" + value;
      key += "{" + joined + "}";
    }
    EXPECT_EQ(line.at(pos), ' ') << line;
    const char* begin = line.c_str() + pos + 1;
    char* end = nullptr;
    double value = std::strtod(begin, &end);
    EXPECT_TRUE(end != begin && *end == '\0') << "bad value in: " << line;
    EXPECT_FALSE(out.series.contains(key)) << "duplicate series " << key;
    out.series[key] = value;
  }
  return out;
}

ProbeResult base(bool success, double duration, std::optional<int> ip_protocol,
                 std::vector<std::pair<Stage, double>> stages) {
  ProbeResult r;
  r.success = success;
  r.duration_seconds = duration;
  r.timeout_seconds = 9.5;
  r.ip_protocol = ip_protocol;
  r.stage_seconds = std::move(stages);
  // What classify_health (tested in health_test.cpp) would say of these.
  r.health.status = success ? probes::Health::healthy : probes::Health::unhealthy;
  return r;
}

ProbeResult success() {
  ProbeResult r = base(true, 0.125, 6,
                       {{Stage::resolve, 0.001}, {Stage::connect, 0.002}, {Stage::banner, 0.05}, {Stage::ehlo, 0.01},
                        {Stage::quit, 0.005}});
  r.ip = "2001:db8::25";
  r.banner_latency_seconds = 0.048;
  r.banner_code = 220;
  r.last_code = 221;
  r.extensions = {{"PIPELINING", ""}, {"SIZE", "10240000"}, {"STARTTLS", ""}, {"AUTH", "PLAIN LOGIN"}};
  r.auth_mechanisms = {"PLAIN", "LOGIN"};
  r.size_limit = 10240000;
  return r;
}

ProbeResult helo_fallback() {
  ProbeResult r = base(true, 0.5, 4, {{Stage::resolve, 0}, {Stage::connect, 0.1}, {Stage::banner, 0.2},
                                      {Stage::ehlo, 0.1}, {Stage::quit, 0.1}});
  r.banner_latency_seconds = 0.2;
  r.banner_code = 220;
  r.last_code = 221;
  r.helo_fallback = true;
  return r;
}

ProbeResult connect_refused() {
  ProbeResult r = base(false, 0.003, 4, {{Stage::resolve, 0.001}, {Stage::connect, 0.002}});
  r.failure = probes::Failure{Stage::connect, FailureReason::refused, "connection refused"};
  return r;
}

ProbeResult banner_unexpected_code() {
  ProbeResult r = base(false, 0.25, 6, {{Stage::resolve, 0}, {Stage::connect, 0.001}, {Stage::banner, 0.2}});
  r.banner_latency_seconds = 0.2;
  r.banner_code = 554;
  r.last_code = 554;
  r.failure = probes::Failure{Stage::banner, FailureReason::unexpected_code, "expected 220, got 554"};
  return r;
}

ProbeResult ehlo_timeout() {
  ProbeResult r = base(false, 9.5, 6, {{Stage::resolve, 0}, {Stage::connect, 0.001}, {Stage::banner, 0.2},
                                       {Stage::ehlo, 9.299}});
  r.banner_latency_seconds = 0.2;
  r.banner_code = 220;
  r.last_code = 220;
  r.failure = probes::Failure{Stage::ehlo, FailureReason::timeout, "deadline passed"};
  return r;
}

ProbeResult dns_error() {
  ProbeResult r = base(false, 0.5, std::nullopt, {{Stage::resolve, 0.5}});
  r.failure = probes::Failure{Stage::resolve, FailureReason::dns_error, "NXDOMAIN"};
  return r;
}

// Two certificates: the leaf expires first.
std::vector<probes::Certificate> chain() {
  return {{1700000000, 1790000000, "CN=mx.example.org", "CN=Example CA", "0a1b", "ab12"},
          {1600000000, 1900000000, "CN=Example CA", "CN=Example Root", "02", "cd34"}};
}

ProbeResult starttls_unverified() {
  ProbeResult r = base(false, 0.4, 6, {{Stage::resolve, 0}, {Stage::connect, 0.001}, {Stage::banner, 0.1},
                                       {Stage::ehlo, 0.1}, {Stage::starttls, 0.15}});
  r.banner_latency_seconds = 0.1;
  r.banner_code = 220;
  r.last_code = 220;
  r.extensions = {{"STARTTLS", ""}, {"AUTH", "PLAIN"}};
  r.auth_mechanisms = {"PLAIN"};
  r.starttls_offered = true;
  r.auth_before_tls = true;
  r.tls = probes::TlsInfo{.version = "TLS 1.3",
                          .cipher = "TLS_AES_256_GCM_SHA384",
                          .server_name = "mx.example.org",
                          .verified = false,
                          .verify_errors = {"expired", "hostname_mismatch"},
                          .verify_detail = "certificate has expired",
                          .presented_chain = chain(),
                          .verified_chain = {},
                          .leaf_days_to_expiry = -3.5};
  r.failure = probes::Failure{Stage::starttls, FailureReason::certificate_error, "certificate has expired"};
  return r;
}

ProbeResult implicit_tls_verified() {
  ProbeResult r = base(true, 0.3, 4, {{Stage::resolve, 0}, {Stage::connect, 0.001}, {Stage::tls, 0.1},
                                      {Stage::banner, 0.1}, {Stage::ehlo, 0.05}, {Stage::quit, 0.01}});
  r.banner_latency_seconds = 0.2;
  r.banner_code = 220;
  r.last_code = 221;
  r.tls_established = true;
  r.tls = probes::TlsInfo{};
  r.tls->version = "TLS 1.2";
  r.tls->cipher = "ECDHE-RSA-AES128-GCM-SHA256";
  r.tls->verified = true;
  r.tls->presented_chain = chain();
  r.tls->verified_chain = chain();
  r.tls->verified_chain.push_back({1500000000, 1750000000, "CN=Example Root", "CN=Example Root", "01", "ef56"});
  r.tls->leaf_days_to_expiry = 100.25;
  return r;
}

Series common(double success, double duration, double ip_protocol, double dns, double tls = 0) {
  return {{"probe_smtp_health{status=healthy}", success},
          {"probe_smtp_health{status=degraded}", 0},
          {"probe_smtp_health{status=unhealthy}", 1 - success},
          {"probe_smtp_tls_established", tls},
          {"probe_success", success},
          {"probe_duration_seconds", duration},
          {"probe_timeout_seconds", 9.5},
          {"probe_ip_protocol", ip_protocol},
          {"probe_dns_lookup_time_seconds", dns}};
}

Series with(Series s, const Series& more) {
  s.insert(more.begin(), more.end());
  return s;
}

struct Case {
  const char* name;
  ProbeResult result;
  Series expected;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class RenderMetrics : public testing::TestWithParam<Case> {};

TEST_P(RenderMetrics, ExactSeries) {
  const std::string text = render_metrics(GetParam().result);
  Exposition e = parse(text);
  EXPECT_EQ(e.series, GetParam().expected) << text;
  for (const auto& [key, value] : e.series) {
    std::string name = key.substr(0, key.find('{'));
    EXPECT_EQ(e.type[name], "gauge") << name;
    EXPECT_FALSE(e.help[name].empty()) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Results, RenderMetrics,
    testing::Values(
        Case{"success", success(),
             with(common(1, 0.125, 6, 0.001),
                  {{"probe_smtp_duration_seconds{phase=resolve}", 0.001},
                   {"probe_smtp_duration_seconds{phase=connect}", 0.002},
                   {"probe_smtp_duration_seconds{phase=banner}", 0.05},
                   {"probe_smtp_duration_seconds{phase=ehlo}", 0.01},
                   {"probe_smtp_duration_seconds{phase=quit}", 0.005},
                   {"probe_smtp_banner_latency_seconds", 0.048},
                   {"probe_smtp_banner_code", 220},
                   {"probe_smtp_status_code", 221},
                   {"probe_smtp_ehlo_extension_info{extension=PIPELINING}", 1},
                   {"probe_smtp_ehlo_extension_info{extension=SIZE}", 1},
                   {"probe_smtp_ehlo_extension_info{extension=STARTTLS}", 1},
                   {"probe_smtp_ehlo_extension_info{extension=AUTH}", 1},
                   {"probe_smtp_auth_mechanism_info{mechanism=PLAIN}", 1},
                   {"probe_smtp_auth_mechanism_info{mechanism=LOGIN}", 1},
                   {"probe_smtp_size_limit_bytes", 10240000},
                   {"probe_smtp_helo_fallback", 0}})},
        Case{"helo_fallback", helo_fallback(),
             with(common(1, 0.5, 4, 0),
                  {{"probe_smtp_duration_seconds{phase=resolve}", 0},
                   {"probe_smtp_duration_seconds{phase=connect}", 0.1},
                   {"probe_smtp_duration_seconds{phase=banner}", 0.2},
                   {"probe_smtp_duration_seconds{phase=ehlo}", 0.1},
                   {"probe_smtp_duration_seconds{phase=quit}", 0.1},
                   {"probe_smtp_banner_latency_seconds", 0.2},
                   {"probe_smtp_banner_code", 220},
                   {"probe_smtp_status_code", 221},
                   {"probe_smtp_helo_fallback", 1}})},
        Case{"connect_refused", connect_refused(),
             with(common(0, 0.003, 4, 0.001),
                  {{"probe_smtp_duration_seconds{phase=resolve}", 0.001},
                   {"probe_smtp_duration_seconds{phase=connect}", 0.002},
                   {"probe_smtp_failure_info{reason=refused,stage=connect}", 1}})},
        Case{"banner_unexpected_code", banner_unexpected_code(),
             with(common(0, 0.25, 6, 0),
                  {{"probe_smtp_duration_seconds{phase=resolve}", 0},
                   {"probe_smtp_duration_seconds{phase=connect}", 0.001},
                   {"probe_smtp_duration_seconds{phase=banner}", 0.2},
                   {"probe_smtp_banner_latency_seconds", 0.2},
                   {"probe_smtp_banner_code", 554},
                   {"probe_smtp_status_code", 554},
                   {"probe_smtp_failure_info{reason=unexpected_code,stage=banner}", 1}})},
        Case{"ehlo_timeout", ehlo_timeout(),
             with(common(0, 9.5, 6, 0),
                  {{"probe_smtp_duration_seconds{phase=resolve}", 0},
                   {"probe_smtp_duration_seconds{phase=connect}", 0.001},
                   {"probe_smtp_duration_seconds{phase=banner}", 0.2},
                   {"probe_smtp_duration_seconds{phase=ehlo}", 9.299},
                   {"probe_smtp_banner_latency_seconds", 0.2},
                   {"probe_smtp_banner_code", 220},
                   {"probe_smtp_status_code", 220},
                   {"probe_smtp_failure_info{reason=timeout,stage=ehlo}", 1}})},
        Case{"starttls_unverified", starttls_unverified(),
             with(common(0, 0.4, 6, 0),
                  {{"probe_smtp_duration_seconds{phase=resolve}", 0},
                   {"probe_smtp_duration_seconds{phase=connect}", 0.001},
                   {"probe_smtp_duration_seconds{phase=banner}", 0.1},
                   {"probe_smtp_duration_seconds{phase=ehlo}", 0.1},
                   {"probe_smtp_duration_seconds{phase=starttls}", 0.15},
                   {"probe_smtp_banner_latency_seconds", 0.1},
                   {"probe_smtp_banner_code", 220},
                   {"probe_smtp_status_code", 220},
                   {"probe_smtp_ehlo_extension_info{extension=STARTTLS}", 1},
                   {"probe_smtp_ehlo_extension_info{extension=AUTH}", 1},
                   {"probe_smtp_auth_mechanism_info{mechanism=PLAIN}", 1},
                   {"probe_smtp_starttls_offered", 1},
                   {"probe_smtp_auth_before_tls", 1},
                   {"probe_tls_version_info{version=TLS 1.3}", 1},
                   {"probe_tls_cipher_info{cipher=TLS_AES_256_GCM_SHA384}", 1},
                   {"probe_smtp_tls_verified", 0},
                   {"probe_smtp_tls_verify_info{reason=expired}", 1},
                   {"probe_smtp_tls_verify_info{reason=hostname_mismatch}", 1},
                   {"probe_ssl_earliest_cert_expiry", 1790000000},
                   {"probe_ssl_last_chain_expiry_timestamp_seconds", 1790000000},
                   {"probe_ssl_last_chain_info{fingerprint_sha256=ab12,issuer=CN=Example CA,serialnumber=0a1b,"
                    "subject=CN=mx.example.org}",
                    1},
                   {"probe_smtp_tls_days_to_expiry", -3.5},
                   {"probe_smtp_failure_info{reason=certificate_error,stage=starttls}", 1}})},
        Case{"implicit_tls_verified", implicit_tls_verified(),
             with(common(1, 0.3, 4, 0, 1),
                  {{"probe_smtp_duration_seconds{phase=resolve}", 0},
                   {"probe_smtp_duration_seconds{phase=connect}", 0.001},
                   {"probe_smtp_duration_seconds{phase=tls}", 0.1},
                   {"probe_smtp_duration_seconds{phase=banner}", 0.1},
                   {"probe_smtp_duration_seconds{phase=ehlo}", 0.05},
                   {"probe_smtp_duration_seconds{phase=quit}", 0.01},
                   {"probe_smtp_banner_latency_seconds", 0.2},
                   {"probe_smtp_banner_code", 220},
                   {"probe_smtp_status_code", 221},
                   {"probe_smtp_helo_fallback", 0},
                   {"probe_tls_version_info{version=TLS 1.2}", 1},
                   {"probe_tls_cipher_info{cipher=ECDHE-RSA-AES128-GCM-SHA256}", 1},
                   {"probe_smtp_tls_verified", 1},
                   {"probe_ssl_earliest_cert_expiry", 1790000000},
                   {"probe_ssl_last_chain_expiry_timestamp_seconds", 1750000000},
                   {"probe_ssl_last_chain_info{fingerprint_sha256=ab12,issuer=CN=Example CA,serialnumber=0a1b,"
                    "subject=CN=mx.example.org}",
                    1},
                   {"probe_smtp_tls_days_to_expiry", 100.25}})},
        Case{"dns_error", dns_error(),
             with(common(0, 0.5, 0, 0.5),
                  {{"probe_smtp_duration_seconds{phase=resolve}", 0.5},
                   {"probe_smtp_failure_info{reason=dns_error,stage=resolve}", 1}})}),
    [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(RenderMetrics, HelpAndTypeLines) {
  const std::string text = render_metrics(connect_refused());
  EXPECT_THAT(text, HasSubstr("# HELP probe_success Whether the probe succeeded (1) or failed (0).\n"
                              "# TYPE probe_success gauge\nprobe_success 0\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE probe_smtp_failure_info gauge\n"));
  EXPECT_THAT(text, HasSubstr("# HELP probe_smtp_failure_info The stage and reason of a failed probe; absent on "
                              "success.\n"));
}

// Every family has HELP, TYPE and at least one series (one with no series,
// e.g. MX host failures when every host works, is left out), and a series
// added twice is one series.
TEST_P(RenderMetrics, EveryFamilyHasSeries) {
  Exposition e = parse(render_metrics(GetParam().result));
  for (const auto& [name, help] : e.help) {
    bool has_series = std::any_of(e.series.begin(), e.series.end(), [&](const auto& s) {
      return s.first == name || s.first.starts_with(name + "{");
    });
    EXPECT_TRUE(has_series) << name << " has HELP but no series";
    EXPECT_TRUE(e.type.contains(name)) << name;
  }
}

ProbeResult mail_domain(bool backup_fails) {
  ProbeResult r = success();
  r.mx = probes::MxInfo{};
  r.mx->records = {{"mx1.example.test", 10}, {"mx2.example.test", 20}};
  r.mx->reachable = backup_fails ? 1 : 2;
  ProbeResult backup = backup_fails ? connect_refused() : success();
  r.mx_hosts.push_back({"mx1.example.test", 10, "192.0.2.1", true, implicit_tls_verified()});
  r.mx_hosts.push_back({"mx2.example.test", 20, "192.0.2.2", !backup_fails, backup});
  return r;
}

TEST(RenderMetrics, MailDomainPerHostSeries) {
  Exposition e = parse(render_metrics(mail_domain(true)));
  EXPECT_EQ(e.series.at("probe_smtp_mx_records"), 2);
  EXPECT_EQ(e.series.at("probe_smtp_mx_reachable"), 1);
  EXPECT_EQ(e.series.at("probe_smtp_mx_info{exchange=mx2.example.test,preference=20}"), 1);
  EXPECT_EQ(e.series.at("probe_smtp_mx_host_success{ip=192.0.2.1,mx=mx1.example.test}"), 1);
  EXPECT_EQ(e.series.at("probe_smtp_mx_host_success{ip=192.0.2.2,mx=mx2.example.test}"), 0);
  EXPECT_EQ(e.series.at("probe_smtp_mx_host_ssl_earliest_cert_expiry_timestamp_seconds{ip=192.0.2.1,mx=mx1.example.test}"),
            1790000000);
  EXPECT_FALSE(e.help.contains("probe_smtp_mx_host_ssl_earliest_cert_expiry")) << "renamed; the old name is gone";
  EXPECT_EQ(e.series.at("probe_smtp_mx_host_failure_info{ip=192.0.2.2,mx=mx2.example.test,reason=refused,stage=connect}"),
            1);
  // Every host works: the failure family has no series, so no HELP either.
  const std::string healthy = render_metrics(mail_domain(false));
  EXPECT_THAT(healthy, testing::Not(HasSubstr("probe_smtp_mx_host_failure_info")));
  EXPECT_THAT(healthy, HasSubstr("# HELP probe_smtp_mx_host_success "));
}

// Prometheus naming: a Unix time is a `_timestamp_seconds` metric. The one
// exception is blackbox_exporter's probe_ssl_earliest_cert_expiry, kept under
// its established name so existing blackbox rules and dashboards work.
TEST(RenderMetrics, TimestampsEndInTimestampSeconds) {
  std::set<std::string> timestamps;
  for (const ProbeResult& r : {implicit_tls_verified(), mail_domain(false)}) {
    for (const auto& [name, help] : parse(render_metrics(r)).help) {
      if (help.find("Unix seconds") == std::string::npos || name == "probe_ssl_earliest_cert_expiry") continue;
      timestamps.insert(name);
      EXPECT_TRUE(name.ends_with("_timestamp_seconds")) << name << ": " << help;
    }
  }
  // probe_ssl_last_chain_expiry_timestamp_seconds and the per-MX-host expiry.
  EXPECT_GE(timestamps.size(), 2u);
}

TEST(RenderLabelled, ConstantLabelsComeFirstAndFamiliesMerge) {
  ProbeResult a = success(), b = connect_refused();
  using Labels = std::map<std::string, std::string>;
  const std::string text = render_labelled({{Labels{{"target_name", "a"}}, &a}, {Labels{{"target_name", "b"}}, &b}});
  EXPECT_THAT(text, HasSubstr("probe_success{target_name=\"a\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("probe_success{target_name=\"b\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("probe_smtp_failure_info{target_name=\"b\",reason=\"refused\",stage=\"connect\"} 1\n"));
  std::size_t helps = 0;
  for (std::size_t at = text.find("# HELP probe_success "); at != std::string::npos;
       at = text.find("# HELP probe_success ", at + 1))
    ++helps;
  EXPECT_EQ(helps, 1u);
}

TEST(RenderMetrics, LabelValuesAreEscaped) {
  ProbeResult r = success();
  r.extensions = {{"X-\"QUOTED\"\\BACK\nLINE", ""}};
  r.auth_mechanisms = {"A\\B"};
  const std::string text = render_metrics(r);
  EXPECT_THAT(text, HasSubstr("probe_smtp_ehlo_extension_info{extension=\"X-\\\"QUOTED\\\"\\\\BACK\\nLINE\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("probe_smtp_auth_mechanism_info{mechanism=\"A\\\\B\"} 1\n"));
  Exposition e = parse(text);
  EXPECT_EQ(e.series.at("probe_smtp_ehlo_extension_info{extension=X-\"QUOTED\"\\BACK\nLINE}"), 1);
  EXPECT_EQ(e.series.at("probe_smtp_auth_mechanism_info{mechanism=A\\B}"), 1);
}

TEST(RenderDebug, LogThenMetricsThenModule) {
  using Kind = probes::LogEntry::Kind;
  const auto at = std::chrono::system_clock::time_point{std::chrono::sys_days{std::chrono::year{2026} /
                                                                                std::chrono::November / 23} +
                                                        14h + 23min + 28s + 123ms};
  ProbeResult r = success();
  r.log = {{at, Kind::info, "resolving"},
           {at + 1ms, Kind::info, "connected to 2001:db8::25"},
           {at + 2ms, Kind::received, "220 mail.example.com ESMTP"},
           {at + 3ms, Kind::sent, "EHLO probe.example.org"},
           {at + 4ms, Kind::error, "server said \"no\""}};
  config::Module module;
  module.ehlo_name = "probe.example.org";
  const std::string metrics = render_metrics(r);
  EXPECT_EQ(render_debug(r, metrics, "smtp_banner", module),
            "Logs for the probe:\n"
            "ts=2026-11-23T14:23:28.123Z level=info msg=resolving\n"
            "ts=2026-11-23T14:23:28.124Z level=info msg=\"connected to 2001:db8::25\"\n"
            "ts=2026-11-23T14:23:28.125Z level=debug msg=\"< 220 mail.example.com ESMTP\"\n"
            "ts=2026-11-23T14:23:28.126Z level=debug msg=\"> EHLO probe.example.org\"\n"
            "ts=2026-11-23T14:23:28.127Z level=error msg=\"server said \\\"no\\\"\"\n"
            "\n\nMetrics that would have been returned:\n" +
                metrics + "\n\nModule configuration:\n" + config::to_toml("smtp_banner", module));
  EXPECT_THAT(metrics, HasSubstr("probe_success 1\n"));
}

}  // namespace
}  // namespace smtp_exporter::exporter
