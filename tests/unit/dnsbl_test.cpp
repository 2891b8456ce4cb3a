// The DNSBL unit (probes/checks/dnsbl.cpp): query names (RFC 5782 §2.1, §2.4),
// the classification of answers, TXT reasons, the zone test (§5), the cache
// and min_interval, and its series and findings from a hand-made section.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>

#include "checks/dnsbl.h"
#include "smtp_exporter/check.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Kind = DnsblAnswer::Kind;

ALookup answer(std::vector<std::string> addresses, DnsError error = DnsError::none) {
  ALookup a;
  a.error = error;
  for (const auto& text : addresses) a.addresses.push_back(asio::ip::make_address_v4(text));
  a.ttl = 300s;
  return a;
}

config::DnsblZone zone(std::string name, std::string key = "") { return {std::move(name), "", "", std::move(key), false}; }

TEST(DnsblQueryName, ReversedOctetsAndNibblesUnderTheZone) {
  EXPECT_EQ(dnsbl_query_name(asio::ip::make_address("192.0.2.99"), zone("bl.example")), "99.2.0.192.bl.example");
  EXPECT_EQ(dnsbl_query_name(asio::ip::make_address("2001:db8:1:2:3:4:567:89ab"), zone("bl.example")),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example");  // RFC 5782 §2.4
  EXPECT_EQ(dnsbl_query_name(asio::ip::make_address("127.0.0.2"), zone("zen.dq.spamhaus.net", "KEY123")),
            "2.0.0.127.KEY123.zen.dq.spamhaus.net");
}

TEST(DnsblAnswer, NxdomainAndNodataAreNotListed) {
  EXPECT_EQ(classify_dnsbl_answer(answer({}, DnsError::nxdomain)).kind, Kind::not_listed);
  EXPECT_EQ(classify_dnsbl_answer(answer({}, DnsError::nodata)).kind, Kind::not_listed);
}

TEST(DnsblAnswer, LoopbackCodesAreListings) {
  DnsblAnswer a = classify_dnsbl_answer(answer({"127.0.0.4", "127.0.0.2", "127.0.0.4"}));
  EXPECT_EQ(a.kind, Kind::listed);
  EXPECT_EQ(a.codes, (std::vector<std::string>{"127.0.0.2", "127.0.0.4"}));  // sorted, once each
  EXPECT_EQ(dnsbl_code_value(a), 2);
  EXPECT_EQ(classify_dnsbl_answer(answer({"127.0.1.2"})).kind, Kind::listed);
}

TEST(DnsblAnswer, ErrorCodesAreNeverListings) {
  for (const char* code : {"127.255.255.252", "127.255.255.254", "127.255.255.255", "127.255.255.1"}) {
    DnsblAnswer a = classify_dnsbl_answer(answer({code}));
    EXPECT_EQ(a.kind, Kind::error) << code;
    EXPECT_THAT(a.reason, HasSubstr(code));
  }
  EXPECT_THAT(classify_dnsbl_answer(answer({"127.255.255.254"})).reason,
              HasSubstr("query refused: use your own resolver"));
  // A listing code next to an error code: still an error.
  EXPECT_EQ(classify_dnsbl_answer(answer({"127.0.0.2", "127.255.255.254"})).kind, Kind::error);
  EXPECT_EQ(classify_dnsbl_answer(answer({"127.0.0.1"})).kind, Kind::error);  // RFC 5782 §5
  EXPECT_THAT(classify_dnsbl_answer(answer({"198.51.100.7"})).reason, HasSubstr("outside 127.0.0.0/8"));
  for (DnsError e : {DnsError::timeout, DnsError::servfail, DnsError::refused, DnsError::cancelled})
    EXPECT_EQ(classify_dnsbl_answer(answer({}, e)).kind, Kind::error);
}

TEST(DnsblReason, PrintableAndBounded) {
  EXPECT_EQ(dnsbl_reason({"Listed: see https://bl.example/q/1"}), "Listed: see https://bl.example/q/1");
  EXPECT_EQ(dnsbl_reason({"a", "b"}), "a; b");
  EXPECT_EQ(dnsbl_reason({std::string("x\ny\0z\xff", 6)}), "x?y?z?");
  std::string reason = dnsbl_reason({std::string(1000, 'r')});
  EXPECT_EQ(reason.size(), 200u);
  EXPECT_TRUE(reason.ends_with("..."));
  EXPECT_EQ(dnsbl_reason({}), "");
}

TEST(DnsblZoneTest, Rfc5782Section5) {
  DnsblAnswer listed = classify_dnsbl_answer(answer({"127.0.0.2"}));
  DnsblAnswer none = classify_dnsbl_answer(answer({}, DnsError::nxdomain));
  DnsblAnswer refused = classify_dnsbl_answer(answer({"127.255.255.254"}));
  std::string detail;
  EXPECT_EQ(judge_zone(listed, none, detail), ZoneHealth::ok);
  EXPECT_EQ(judge_zone(none, none, detail), ZoneHealth::broken);
  EXPECT_THAT(detail, HasSubstr("127.0.0.2 is not listed"));
  EXPECT_EQ(judge_zone(listed, listed, detail), ZoneHealth::broken);
  EXPECT_THAT(detail, HasSubstr("127.0.0.1 is listed"));
  EXPECT_EQ(judge_zone(refused, none, detail), ZoneHealth::untestable);
}

TEST(DnsblMemory, AnswersLastTheirTtlButNeverLongerThanMinInterval) {
  DnsblMemory memory;
  auto t0 = DnsblMemory::Clock::now();
  DnsblAnswer listed = classify_dnsbl_answer(answer({"127.0.0.2"}));
  memory.remember("bl.example", "192.0.2.1", listed, 60s, 5min, t0);
  EXPECT_TRUE(memory.cached("bl.example", "192.0.2.1", t0 + 59s));
  EXPECT_FALSE(memory.cached("bl.example", "192.0.2.1", t0 + 60s));
  EXPECT_FALSE(memory.cached("bl.example", "192.0.2.2", t0));
  EXPECT_FALSE(memory.cached("other.example", "192.0.2.1", t0));
  memory.remember("bl.example", "192.0.2.1", listed, 86400s, 5min, t0);  // a long TTL: the interval
  EXPECT_TRUE(memory.cached("bl.example", "192.0.2.1", t0 + 299s));
  EXPECT_FALSE(memory.cached("bl.example", "192.0.2.1", t0 + 300s));
  // NXDOMAIN (no TTL shown) and lookup errors: the interval.
  memory.remember("bl.example", "192.0.2.3", DnsblAnswer{}, 0s, 5min, t0);
  EXPECT_TRUE(memory.cached("bl.example", "192.0.2.3", t0 + 299s));
  EXPECT_FALSE(memory.cached("bl.example", "192.0.2.3", t0 + 300s));
}

TEST(DnsblMemory, ZoneTestedAtMostOncePerMinInterval) {
  DnsblMemory memory;
  auto t0 = DnsblMemory::Clock::now();
  EXPECT_TRUE(memory.health_due("bl.example", 5min, t0));
  EXPECT_FALSE(memory.health_due("bl.example", 5min, t0 + 1s));  // claimed: a concurrent probe does not test
  EXPECT_FALSE(memory.health_due("bl.example", 5min, t0 + 299s));
  EXPECT_TRUE(memory.health_due("bl.example", 5min, t0 + 300s));
  EXPECT_TRUE(memory.health_due("other.example", 5min, t0 + 1s));
  std::string detail;
  EXPECT_EQ(memory.health("bl.example", detail), ZoneHealth::unknown);
  memory.set_health("bl.example", ZoneHealth::broken, "gone");
  EXPECT_EQ(memory.health("bl.example", detail), ZoneHealth::broken);
  EXPECT_EQ(detail, "gone");
}

TEST(DnsblMemory, ProcessSeriesAndRetain) {
  DnsblMemory memory;
  memory.set_health("bl.example", ZoneHealth::ok, "");
  memory.set_health("old.example", ZoneHealth::broken, "gone");
  memory.count_query("bl.example");
  memory.count_query("bl.example");
  DnsblZoneResult outbound;
  outbound.zone = "bl.example";
  outbound.health = ZoneHealth::ok;
  outbound.answer = classify_dnsbl_answer(answer({"127.0.0.2"}));
  memory.set_outbound("bl.example", "192.0.2.25", outbound);
  config::DnsblConfig config;
  config.zones.push_back(zone("bl.example"));
  config.addresses = {"192.0.2.25"};
  memory.retain(&config);
  std::vector<Series> series;
  memory.series(series);
  ASSERT_EQ(series.size(), 3u);
  EXPECT_EQ(series[0].name, "smtp_exporter_dnsbl_zone_ok");
  EXPECT_EQ(series[0].value, 1);
  EXPECT_EQ(series[1].name, "smtp_exporter_dnsbl_queries_total");
  EXPECT_EQ(series[1].value, 2);
  EXPECT_TRUE(series[1].counter);
  EXPECT_EQ(series[2].name, "smtp_exporter_dnsbl_listed");
  EXPECT_EQ(series[2].labels, (std::vector<std::pair<std::string, std::string>>{{"zone", "bl.example"},
                                                                                  {"ip", "192.0.2.25"}}));
  EXPECT_EQ(series[2].value, 1);
}

ProbeResult with_section(std::vector<DnsblZoneResult> zones) {
  ProbeResult r;
  r.success = true;
  r.ip = "192.0.2.25";
  r.sections.emplace("dnsbl", DnsblSection{r.ip, std::move(zones)});
  return r;
}

DnsblZoneResult result(std::string zone, DnsblAnswer answer, ZoneHealth health = ZoneHealth::ok,
                       bool degraded = false) {
  DnsblZoneResult r;
  r.zone = std::move(zone);
  r.answer = std::move(answer);
  r.health = health;
  r.health_detail = health == ZoneHealth::broken ? "its test entry 127.0.0.2 is not listed" : "";
  r.degraded = degraded;
  return r;
}

double value(const std::vector<Series>& series, const std::string& name, const std::string& zone = "") {
  for (const auto& s : series)
    if (s.name == name && (zone.empty() || std::find(s.labels.begin(), s.labels.end(),
                                                     std::pair<std::string, std::string>{"zone", zone}) != s.labels.end()))
      return s.value;
  return -1;
}

TEST(DnsblUnit, SeriesAndFindings) {
  DnsblAnswer listed = classify_dnsbl_answer(answer({"127.0.0.3"}));
  listed.reason = "see https://bl.example/";
  auto r = with_section({result("a.example", listed), result("b.example", DnsblAnswer{}),
                         result("c.example", classify_dnsbl_answer(answer({"127.255.255.254"}))),
                         result("d.example", listed, ZoneHealth::broken),
                         result("e.example", listed, ZoneHealth::ok, true)});
  std::vector<Series> series;
  dnsbl_check().series(r, series);
  EXPECT_EQ(value(series, "probe_smtp_dnsbl_listed", "a.example"), 1);
  EXPECT_EQ(value(series, "probe_smtp_dnsbl_listed_code", "a.example"), 3);
  EXPECT_EQ(value(series, "probe_smtp_dnsbl_listed", "b.example"), 0);
  EXPECT_EQ(value(series, "probe_smtp_dnsbl_listed_code", "b.example"), -1);  // absent
  EXPECT_EQ(value(series, "probe_smtp_dnsbl_listed", "c.example"), -1);       // an error: no answer
  EXPECT_EQ(value(series, "probe_smtp_dnsbl_error", "c.example"), 1);
  EXPECT_EQ(value(series, "probe_smtp_dnsbl_listed", "d.example"), -1);  // a broken zone does not count
  EXPECT_EQ(value(series, "probe_smtp_dnsbl_error", "d.example"), 1);
  EXPECT_EQ(value(series, "probe_smtp_dnsbl_error", "a.example"), 0);
  EXPECT_EQ(value(series, "probe_smtp_dnsbl_listings"), 2);

  std::vector<Finding> findings;
  dnsbl_check().findings(r, config::Module{}, findings);
  ASSERT_EQ(findings.size(), 4u);
  EXPECT_EQ(findings[0].key, "dnsbl/listed");
  EXPECT_EQ(findings[0].severity, Health::unhealthy);
  EXPECT_EQ(findings[0].text, "192.0.2.25 is listed on a.example (127.0.0.3): see https://bl.example/");
  EXPECT_EQ(findings[1].key, "dnsbl/zone_error");
  EXPECT_EQ(findings[1].severity, Health::degraded);
  EXPECT_THAT(findings[1].text, HasSubstr("use your own resolver"));
  EXPECT_EQ(findings[2].key, "dnsbl/zone_broken");
  EXPECT_EQ(findings[3].key, "dnsbl/listed");
  EXPECT_EQ(findings[3].severity, Health::degraded);  // severity = "degraded"
  std::vector<std::string> remediation_keys;
  for (const auto& entry : dnsbl_check().remediations()) remediation_keys.emplace_back(entry.key);
  EXPECT_EQ(remediation_keys, (std::vector<std::string>{"dnsbl/listed", "dnsbl/zone_error", "dnsbl/zone_broken"}));
}

TEST(DnsblUnit, NothingWithoutTheSectionAndOffByDefault) {
  std::vector<Series> series;
  std::vector<Finding> findings;
  dnsbl_check().series(ProbeResult{}, series);
  dnsbl_check().findings(ProbeResult{}, config::Module{}, findings);
  EXPECT_TRUE(series.empty());
  EXPECT_TRUE(findings.empty());
  EXPECT_FALSE(dnsbl_check().enabled(config::Module{}));
  EXPECT_EQ(dnsbl_check().phase(), Phase::host);
}

}  // namespace
}  // namespace smtp_exporter::probes
