// The check units (smtp_exporter/check.h): the registry, the FCrDNS unit's
// series and findings from its section, the views that walk the units
// (health, metrics, remediation), and the module switch in the config.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>

#include "checks/fcrdns.h"
#include "checks/mta_sts.h"
#include "checks/receive.h"
#include "dns.h"
#include "smtp_exporter/check.h"
#include "smtp_exporter/config.h"
#include "smtp_exporter/health.h"
#include "smtp_exporter/render.h"
#include "smtp_exporter/report.h"
#include "views/remediation.h"

namespace smtp_exporter::probes {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

ProbeResult with_fcrdns(FcrdnsSection s) {
  ProbeResult r;
  r.success = true;
  r.ip = s.ip;
  r.sections.emplace("fcrdns", std::move(s));
  return r;
}

FcrdnsSection section_for(std::vector<std::string> ptr, std::vector<std::string> confirmed, std::string banner,
                          std::string ehlo) {
  FcrdnsSection s;
  s.ip = "192.0.2.25";
  s.expected = "mx.example.org";
  s.ptr_names = std::move(ptr);
  s.confirmed = std::move(confirmed);
  s.banner_hostname = std::move(banner);
  s.ehlo_hostname = std::move(ehlo);
  if (s.ptr_names.empty()) s.ptr_error = DnsError::nxdomain;
  return s;
}

// Every unit's findings with a default module.
std::vector<Finding> findings_of(const ProbeResult& r) { return check_findings(r, config::Module{}); }

std::vector<std::string> keys(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings) out.push_back(f.key);
  return out;
}

TEST(CheckUnits, RegistryListsFcrdnsAndItsSwitchIsAConfigKey) {
  std::vector<std::string_view> names;
  for (const Check* check : checks()) names.push_back(check->name());
  EXPECT_THAT(names, ::testing::Contains("fcrdns"));
  config::Config c = config::load_string("[modules.a]\nfcrdns = true\n[modules.b]\nfcrdns = false\n[modules.c]\n", "x.toml");
  EXPECT_TRUE(fcrdns_check().enabled(c.modules.at("a")));
  EXPECT_FALSE(fcrdns_check().enabled(c.modules.at("b")));
  EXPECT_FALSE(fcrdns_check().enabled(c.modules.at("c")));
  // Written back by to_toml, and loaded again.
  std::string text = config::to_toml("a", c.modules.at("a"));
  EXPECT_THAT(text, HasSubstr("fcrdns = true"));
  EXPECT_TRUE(fcrdns_check().enabled(config::load_string(text, "again.toml").modules.at("a")));
  EXPECT_THAT(config::to_toml("c", c.modules.at("c")), Not(HasSubstr("fcrdns")));
}

TEST(CheckUnits, SessionStepsRunInConversationOrder) {
  config::Module module;
  module.tls = config::TlsMode::starttls;
  module.auth = config::AuthConfig{};
  module.send = config::SendConfig{};
  std::vector<std::string_view> names;
  for (const Check* check : enabled_checks(Phase::session, module)) names.push_back(check->name());
  EXPECT_THAT(names, ::testing::ElementsAre("greeting", "ehlo", "starttls", "auth", "send"));
  module.tls = config::TlsMode::implicit;  // negotiated on connect: no STARTTLS step
  module.auth.reset();
  module.send.reset();
  names.clear();
  for (const Check* check : enabled_checks(Phase::session, module)) names.push_back(check->name());
  EXPECT_THAT(names, ::testing::ElementsAre("greeting", "ehlo"));
  EXPECT_TRUE(enabled_checks(Phase::host, module).empty());  // fcrdns is off by default
  EXPECT_EQ(enabled_checks(Phase::domain, module).size(), 1u);  // the MX fan-out
}

TEST(CheckUnits, NothingWithoutTheSection) {
  ProbeResult r;
  std::vector<Series> series;
  std::vector<Finding> findings;
  fcrdns_check().series(r, series);
  fcrdns_check().findings(r, config::Module{}, findings);
  EXPECT_TRUE(series.empty());
  EXPECT_TRUE(findings.empty());
  EXPECT_TRUE(findings_of(r).empty());
}

TEST(Fcrdns, MatchingNamesGiveNoFinding) {
  auto r = with_fcrdns(section_for({"mx.example.org"}, {"mx.example.org"}, "MX.example.org", "mx.example.org."));
  EXPECT_TRUE(findings_of(r).empty());
  auto series = check_series(r);
  auto value = [&](const std::string& name) {
    for (const auto& s : series)
      if (s.name == name) return s.value;
    return -1.0;
  };
  EXPECT_EQ(value("probe_smtp_fcrdns_ok"), 1);
  EXPECT_EQ(value("probe_smtp_ptr_info"), 1);
  EXPECT_EQ(value("probe_smtp_banner_hostname_info"), 1);
  EXPECT_EQ(value("probe_smtp_banner_hostname_matches_ptr"), 1);
}

TEST(Fcrdns, EachMismatchIsADegradedFindingWithRemediation) {
  EXPECT_THAT(keys(findings_of(with_fcrdns(section_for({}, {}, "mx.example.org", "")))),
              ::testing::ElementsAre("fcrdns/no_ptr"));
  EXPECT_THAT(keys(findings_of(with_fcrdns(section_for({"a.example"}, {}, "a.example", "a.example")))),
              ::testing::ElementsAre("fcrdns/not_confirmed"));
  EXPECT_THAT(keys(findings_of(with_fcrdns(section_for({"a.example"}, {"a.example"}, "b.example", "c.example")))),
              ::testing::ElementsAre("fcrdns/banner_mismatch", "fcrdns/ehlo_mismatch"));
  for (const auto& f : findings_of(with_fcrdns(section_for({}, {}, "x", "x")))) {
    EXPECT_EQ(f.severity, Health::degraded);
    EXPECT_NE(exporter::find_remediation(f.key), nullptr) << f.key;
  }
}

TEST(Fcrdns, FindingsReachHealthMetricsAndRemediation) {
  config::Module module;
  auto r = with_fcrdns(section_for({}, {}, "mx.example.org", ""));
  HealthVerdict v = classify_health(r, module);
  EXPECT_EQ(v.status, Health::degraded);
  EXPECT_THAT(v.findings, Contains("192.0.2.25 has no PTR record (nxdomain)"));
  std::string metrics = exporter::render_metrics(r);
  EXPECT_THAT(metrics, HasSubstr("\nprobe_smtp_fcrdns_ok 0\n"));
  EXPECT_THAT(metrics, HasSubstr("probe_smtp_banner_hostname_info{hostname=\"mx.example.org\"} 1"));
  bool listed = false;
  for (const auto* entry : exporter::remediation_for(r, module)) listed = listed || entry->key == "fcrdns/no_ptr";
  EXPECT_TRUE(listed);
  // An MX host's section: labelled with its name and address, and its finding named.
  ProbeResult domain;
  domain.mx.emplace();
  domain.mx_hosts.push_back({"mx.example.org", 10, "192.0.2.25", true, r});
  EXPECT_THAT(exporter::render_metrics(domain),
              HasSubstr("probe_smtp_fcrdns_ok{ip=\"192.0.2.25\",mx=\"mx.example.org\"} 0"));
  EXPECT_THAT(classify_health(domain, module).findings,
              Contains("mx.example.org (192.0.2.25): 192.0.2.25 has no PTR record (nxdomain)"));
}

std::vector<std::string> labels(const Report& report) {
  std::vector<std::string> out;
  for (const auto& f : report.facts) out.push_back(f.label);
  return out;
}

// The `check` report and /healthz print what the units report, in registry
// order: a unit's facts appear only when its part of the result is there.
TEST(CheckReport, EachUnitReportsItsOwnFactsInRegistryOrder) {
  ProbeResult r;
  r.success = true;
  r.banner_code = 220;
  r.banner_lines = {"mx.example.org ESMTP", "second line"};
  r.banner_latency_seconds = 0.0042;
  r.extensions = {{"PIPELINING", ""}, {"SIZE", "1000"}};
  r.starttls_offered = true;
  r.tls_established = true;
  r.tls = TlsInfo{};
  r.tls->version = "TLS 1.3";
  r.tls->verified = true;
  r.tls->leaf_days_to_expiry = 29.9;
  r.attempts = 1;
  r.message_token = "abc123";
  r.message_accepted = true;
  Report report = probes::report(r, config::Module{});
  EXPECT_THAT(labels(report), ::testing::ElementsAre("STARTTLS", "TLS", "Certificate", "Verification", "Greeting",
                                                     "Extensions", "Message", "Attempts"));
  EXPECT_THAT(report.facts[4].lines, ::testing::ElementsAre("220 mx.example.org ESMTP (after 4.2 ms)", "220 second line"));
  EXPECT_EQ(report.facts[5].lines.front(), "PIPELINING, SIZE 1000 (over TLS)");
  // The JSON of `check`: each unit's keys, null when it has nothing.
  std::vector<std::string> keys;
  for (const auto& [key, value] : report.check.items()) keys.push_back(key);
  EXPECT_THAT(keys, ::testing::ElementsAre("starttlsOffered", "tls", "mx", "greeting", "extensions", "authMechanisms",
                                           "send"));
  EXPECT_TRUE(report.check["mx"].is_null());
  EXPECT_EQ(report.check["send"]["token"], "abc123");
  // /healthz: fields, tags and the note of the description.
  EXPECT_EQ(report.healthz["daysToExpiry"], 29.9);
  EXPECT_EQ(report.healthz["bannerLatencyMs"], 4.2);
  EXPECT_EQ(report.healthz["messageToken"], "abc123");
  EXPECT_THAT(report.tags, ::testing::ElementsAre("tls"));
  EXPECT_THAT(report.notes, ::testing::ElementsAre("TLS 1.3, certificate valid for 29 more days"));
  EXPECT_TRUE(report.summary.empty());
}

TEST(CheckReport, OptionalUnitsReportOnlyWhenTheyRan) {
  ProbeResult without;
  Report none = probes::report(without, config::Module{});
  EXPECT_FALSE(none.check.contains("fcrdns"));
  EXPECT_THAT(labels(none), Not(Contains("FCrDNS")));

  Report report = probes::report(with_fcrdns(section_for({"mail.example.org"}, {}, "other.example.org", "")),
                                 config::Module{});
  ASSERT_THAT(labels(report), Contains("FCrDNS"));
  const Fact& fact = report.facts.back();
  EXPECT_EQ(fact.lines.front(), "not confirmed: mail.example.org does not resolve back to 192.0.2.25");
  EXPECT_THAT(fact.lines, Contains("greeting names other.example.org"));
  EXPECT_EQ(report.check["fcrdns"]["ok"], false);
  EXPECT_EQ(report.check["fcrdns"]["ptr"][0], "mail.example.org");
  EXPECT_EQ(report.healthz["fcrdnsOk"], false);
}

TEST(CheckReport, DeliveryAndMtaStsReportTheirFacts) {
  ProbeResult r;
  ReceiveSection delivery;
  delivery.mode = "imap";
  delivery.found = true;
  delivery.folder = "junk";
  delivery.roundtrip_seconds = 0.25;
  delivery.auth_results = {{"dmarc", "fail"}};
  delivery.removed = 1;
  r.sections.emplace("receive", delivery);
  MtaStsSection sts;
  sts.domain = "example.org";
  sts.txt.id = "20261206";
  sts.policy = StsPolicy{};
  sts.policy->mode = StsMode::enforce;
  sts.policy->mx = {"*.example.org"};
  sts.mx = {{"mx1.example.org", "*.example.org", true, ""}, {"mail.other.net", std::nullopt, false, "no STARTTLS"}};
  r.sections.emplace("mta_sts", sts);
  Report report = probes::report(r, config::Module{});
  ASSERT_THAT(labels(report), ::testing::IsSupersetOf({"Delivery", "MTA-STS"}));
  for (const auto& f : report.facts) {
    if (f.label == "Delivery") {
      EXPECT_EQ(f.lines.front(), "found over IMAP in junk after 250.0 ms");
      EXPECT_THAT(f.lines, Contains("Authentication-Results: dmarc=fail"));
    } else if (f.label == "MTA-STS") {
      EXPECT_THAT(f.lines, Contains("mail.other.net: NOT covered, NOT valid: no STARTTLS"));
      EXPECT_THAT(f.lines, Contains("mode enforce, mx *.example.org"));
    }
  }
  EXPECT_EQ(report.check["delivery"]["folder"], "junk");
  EXPECT_EQ(report.check["mtaSts"]["mx"][1]["covered"], false);
  EXPECT_EQ(report.healthz["deliveryRoundtripMs"], 250);
  EXPECT_EQ(report.healthz["mtaStsMode"], "enforce");
}

TEST(CheckReport, ServerTextIsMadeSafe) {
  ProbeResult r;
  r.banner_code = 220;
  r.banner_lines = {"evil\x1b[31m\r\nname"};
  Report report = probes::report(r, config::Module{});
  ASSERT_THAT(labels(report), Contains("Greeting"));
  EXPECT_EQ(report.facts.front().lines.front(), "220 evil\\x1B[31m\\x0D\\x0Aname");
}

TEST(ReverseName, OctetsAndNibbles) {
  using boost::asio::ip::make_address;
  EXPECT_EQ(reverse_name(make_address("192.0.2.25")), "25.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_name(make_address("127.0.0.2"), "zen.example"), "2.0.0.127.zen.example");
  EXPECT_EQ(reverse_name(make_address("2001:db8::1")),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

}  // namespace
}  // namespace smtp_exporter::probes
