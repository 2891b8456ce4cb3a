// The MTA-STS unit (probes/checks/mta_sts.cpp) and its pure parsers
// (probes/mta_sts_policy.cpp): the policy file (RFC 8461 §3.2), MX patterns
// (§4.1), the TXT records (RFC 8461 §3.1, RFC 8460 §3), the cache and change
// tracking, MX coverage from an MX probe's result, and the unit's series and
// findings from a hand-made section.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checks/mta_sts.h"
#include "mta_sts_fetch.h"
#include "mta_sts_policy.h"
#include "smtp_exporter/check.h"

namespace smtp_exporter::probes {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr std::string_view kGood = "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: *.backup.example\nmax_age: 86400\n";

TEST(StsPolicy, ParsesAGoodPolicy) {
  StsPolicy p = parse_sts_policy(kGood);
  EXPECT_TRUE(p.valid()) << ::testing::PrintToString(p.errors);
  EXPECT_EQ(p.mode, StsMode::enforce);
  EXPECT_THAT(p.mx, ElementsAre("mx1.example.com", "*.backup.example"));
  EXPECT_EQ(p.max_age, 86400);
  EXPECT_THAT(p.unknown_keys, IsEmpty());
}

TEST(StsPolicy, CrlfLinesAndNoFinalNewline) {
  StsPolicy p = parse_sts_policy("version: STSv1\r\nmode: testing\r\nmx: mx.example.com\r\nmax_age: 0");
  EXPECT_TRUE(p.valid()) << ::testing::PrintToString(p.errors);
  EXPECT_EQ(p.mode, StsMode::testing);
  EXPECT_EQ(p.max_age, 0);
}

TEST(StsPolicy, UnknownKeysAreIgnoredButReported) {
  StsPolicy p = parse_sts_policy(std::string(kGood) + "foo: bar\nfoo: baz\nextension_x: 1\n");
  EXPECT_TRUE(p.valid());
  EXPECT_THAT(p.unknown_keys, ElementsAre("foo", "extension_x"));
}

TEST(StsPolicy, ModeNoneNeedsNoMx) {
  StsPolicy p = parse_sts_policy("version: STSv1\nmode: none\nmax_age: 86400\n");
  EXPECT_TRUE(p.valid());
  EXPECT_EQ(p.mode, StsMode::none);
}

TEST(StsPolicy, Invalid) {
  auto errors = [](std::string_view body) { return parse_sts_policy(body).errors; };
  EXPECT_THAT(errors("mode: enforce\nmx: a.example\nmax_age: 1\n"), ElementsAre("no version line"));
  EXPECT_THAT(errors("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n"),
              ElementsAre(HasSubstr("is not STSv1")));
  EXPECT_THAT(errors("version: STSv1\nmode: enforced\nmx: a.example\nmax_age: 1\n"),
              ElementsAre(HasSubstr("line 2: mode \"enforced\"")));
  EXPECT_THAT(errors("version: STSv1\nmode: enforce\nmax_age: 1\n"), ElementsAre(HasSubstr("no valid mx line")));
  EXPECT_THAT(errors("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n"),
              ElementsAre(HasSubstr("max_age \"31557601\"")));
  EXPECT_THAT(errors("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n"), ::testing::Contains(HasSubstr("max_age")));
  EXPECT_THAT(errors("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\nmode: testing\n"),
              ElementsAre("mode given 2 times"));
  EXPECT_THAT(errors("version: STSv1\nmode enforce\nmx: a.example\nmax_age: 1\n"),
              ::testing::Contains(HasSubstr("line 2: no ':'")));
  // An IP address is not a pattern; with it the only mx line, the policy has none.
  EXPECT_THAT(errors("version: STSv1\nmode: enforce\nmx: 127.0.0.1\nmax_age: 1\n"),
              ElementsAre(HasSubstr("mx \"127.0.0.1\""), HasSubstr("no valid mx line")));
  EXPECT_FALSE(parse_sts_policy("").valid());
  EXPECT_THAT(errors(std::string("version: STSv1\nmode: \x01\n")), ::testing::Contains(HasSubstr("\\x01")));
}

TEST(StsPolicy, MaxAgeLimitIsValid) {
  StsPolicy p = parse_sts_policy("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557600\n");
  EXPECT_TRUE(p.valid());
  EXPECT_EQ(p.max_age, kStsMaxAgeLimit);
}

TEST(MxPattern, Validity) {
  EXPECT_TRUE(valid_mx_pattern("mx1.example.com"));
  EXPECT_TRUE(valid_mx_pattern("*.example.com"));
  EXPECT_TRUE(valid_mx_pattern("mx1.example.com."));
  EXPECT_FALSE(valid_mx_pattern("192.0.2.1"));
  EXPECT_FALSE(valid_mx_pattern("2001:db8::1"));
  EXPECT_FALSE(valid_mx_pattern("[192.0.2.1]"));
  EXPECT_FALSE(valid_mx_pattern("mx*.example.com"));
  EXPECT_FALSE(valid_mx_pattern("*.*.example.com"));
  EXPECT_FALSE(valid_mx_pattern("*"));
  EXPECT_FALSE(valid_mx_pattern(""));
  EXPECT_FALSE(valid_mx_pattern("-mx.example.com"));
  EXPECT_FALSE(valid_mx_pattern("mx..example.com"));
}

TEST(MxPattern, WildcardMatchesExactlyOneLabel) {
  EXPECT_TRUE(mx_pattern_matches("*.backup.example", "mx2.backup.example"));
  EXPECT_TRUE(mx_pattern_matches("*.backup.example", "MX2.Backup.Example."));
  EXPECT_FALSE(mx_pattern_matches("*.backup.example", "a.b.backup.example"));
  EXPECT_FALSE(mx_pattern_matches("*.backup.example", "backup.example"));
  EXPECT_FALSE(mx_pattern_matches("*.backup.example", "xbackup.example"));
  EXPECT_TRUE(mx_pattern_matches("mx1.example.com", "MX1.example.com."));
  EXPECT_FALSE(mx_pattern_matches("mx1.example.com", "mx10.example.com"));
  EXPECT_EQ(matching_pattern({"a.example", "*.example"}, "b.example"), "*.example");
  EXPECT_EQ(matching_pattern({"a.example"}, "b.example"), std::nullopt);
}

TEST(StsRecord, ExactlyOneWithAnId) {
  StsRecord r = parse_sts_record({"v=STSv1; id=20260101T000000", "v=spf1 -all"});
  EXPECT_TRUE(r.valid()) << r.error;
  EXPECT_EQ(r.id, "20260101T000000");
  EXPECT_EQ(r.records, 1);
  EXPECT_TRUE(parse_sts_record({"v=STSv1;id=abc;"}).valid());
  EXPECT_TRUE(parse_sts_record({"v=STSv1; id=abc; ext=1"}).valid());
  EXPECT_EQ(parse_sts_record({"v=STSv1; id=abc"}).id, "abc");
}

TEST(StsRecord, Invalid) {
  EXPECT_THAT(parse_sts_record({}).error, HasSubstr("no TXT record"));
  EXPECT_THAT(parse_sts_record({"v=STSv10; id=1"}).error, HasSubstr("no TXT record"));
  StsRecord two = parse_sts_record({"v=STSv1; id=a", "v=STSv1; id=b"});
  EXPECT_EQ(two.records, 2);
  EXPECT_THAT(two.error, HasSubstr("2 TXT records"));
  EXPECT_THAT(parse_sts_record({"v=STSv1"}).error, HasSubstr("no id="));
  EXPECT_THAT(parse_sts_record({"v=STSv1; id=2026-01-01"}).error, HasSubstr("not 1 to 32"));
  EXPECT_THAT(parse_sts_record({"v=STSv1; id=" + std::string(33, 'a')}).error, HasSubstr("not 1 to 32"));
  EXPECT_TRUE(parse_sts_record({"v=STSv1; id=" + std::string(32, 'a')}).valid());
  EXPECT_THAT(parse_sts_record({"v=STSv1; id"}).error, HasSubstr("malformed"));
  EXPECT_THAT(parse_sts_record({"v=STSv1; id=a; id=b"}).error, HasSubstr("2 times"));
}

TEST(TlsRptRecord, MailtoAndHttpsUris) {
  TlsRptRecord r = parse_tlsrpt_record({"v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example/v1"});
  EXPECT_TRUE(r.valid()) << r.error;
  EXPECT_THAT(r.rua, ElementsAre("mailto:tls@example.com", "https://r.example/v1"));
  EXPECT_THAT(parse_tlsrpt_record({}).error, HasSubstr("no TXT record"));
  EXPECT_THAT(parse_tlsrpt_record({"v=TLSRPTv1; rua=tls@example.com"}).error, HasSubstr("not a mailto: or https:"));
  EXPECT_THAT(parse_tlsrpt_record({"v=TLSRPTv1; rua=http://r.example/"}).error, HasSubstr("not a mailto: or https:"));
  EXPECT_THAT(parse_tlsrpt_record({"v=TLSRPTv1"}).error, HasSubstr("no rua="));
  EXPECT_THAT(parse_tlsrpt_record({"v=TLSRPTv1; rua=mailto:a@x", "v=TLSRPTv1; rua=mailto:b@x"}).error,
              HasSubstr("2 TXT records"));
}

TEST(PolicyFetch, TextPlainWithParameters) {
  EXPECT_TRUE(is_text_plain("text/plain"));
  EXPECT_TRUE(is_text_plain("text/plain; charset=utf-8"));
  EXPECT_TRUE(is_text_plain("Text/Plain"));
  EXPECT_FALSE(is_text_plain("text/html"));
  EXPECT_FALSE(is_text_plain("text/plainx"));
  EXPECT_FALSE(is_text_plain(""));
}

TEST(MtaStsMemory, CachesPerDomainAndIdForTheDuration) {
  MtaStsMemory m;
  auto t0 = MtaStsMemory::Clock::now();
  PolicyFetch f;
  f.outcome = PolicyFetch::Outcome::ok;
  f.body = "x";
  m.remember("example.com", "id1", f, t0);
  EXPECT_TRUE(m.cached("example.com", "id1", 60s, t0 + 59s));
  EXPECT_FALSE(m.cached("example.com", "id1", 60s, t0 + 60s));
  EXPECT_FALSE(m.cached("example.com", "id2", 60s, t0 + 1s));  // a new id: fetched again
  EXPECT_FALSE(m.cached("example.org", "id1", 60s, t0 + 1s));
  EXPECT_FALSE(m.cached("example.com", "id1", 0s, t0));
}

TEST(MtaStsMemory, TheCacheKeepsAtMostKMaxCachedDomainsDroppingTheOldest) {
  MtaStsMemory m;
  auto t0 = MtaStsMemory::Clock::now();
  PolicyFetch f;
  for (std::size_t i = 0; i <= MtaStsMemory::kMaxCached; ++i)
    m.remember("d" + std::to_string(i), "id", f, t0 + std::chrono::seconds(i));
  EXPECT_FALSE(m.cached("d0", "id", 1h, t0 + 1s));  // the oldest went
  EXPECT_TRUE(m.cached("d1", "id", 1h, t0 + 1s));
  EXPECT_TRUE(m.cached("d" + std::to_string(MtaStsMemory::kMaxCached), "id", 1h, t0 + 1s));
}

TEST(MtaStsMemory, BodyChangedUnderTheSameIdIsStaleUntilTheIdChanges) {
  MtaStsMemory m;
  EXPECT_FALSE(m.observe("d", "1", "body A"));
  EXPECT_FALSE(m.observe("d", "1", "body A"));
  EXPECT_TRUE(m.observe("d", "1", "body B"));
  EXPECT_TRUE(m.observe("d", "1", "body B"));  // still: senders hold body A
  EXPECT_TRUE(m.stale("d"));
  EXPECT_FALSE(m.observe("d", "2", "body B"));
  EXPECT_FALSE(m.observe("d", "3", "body C"));  // a new id with a new body is the right way
  EXPECT_FALSE(m.stale("other"));
}

ProbeResult mx_result(bool verified_second) {
  ProbeResult r;
  r.mx.emplace();
  r.mx->records = {{"mx1.example.com", 10}, {"mx2.example.com", 20}};
  auto host = [](std::string name, bool verified) {
    MxHost h;
    h.exchange = std::move(name);
    h.ip = "192.0.2.1";
    h.reachable = true;
    h.result.starttls_offered = true;
    h.result.tls.emplace();
    h.result.tls->verified = verified;
    if (!verified) h.result.tls->verify_errors = {"hostname_mismatch"};
    return h;
  };
  r.mx_hosts.push_back(host("mx1.example.com", true));
  r.mx_hosts.push_back(host("mx2.example.com", verified_second));
  return r;
}

TEST(MtaStsMx, CoverageAndValidityFromTheMxProbe) {
  StsPolicy p = parse_sts_policy("version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 60\n");
  auto mx = judge_mx(mx_result(false), "example.com", &p);
  ASSERT_EQ(mx.size(), 2u);
  EXPECT_EQ(mx[0].pattern, "mx1.example.com");
  EXPECT_EQ(mx[0].valid, true);
  EXPECT_EQ(mx[1].pattern, std::nullopt);
  EXPECT_EQ(mx[1].valid, false);
  EXPECT_THAT(mx[1].problem, HasSubstr("hostname_mismatch"));
}

TEST(MtaStsMx, NoStarttlsIsInvalidAndNoTlsTriedIsUnknown) {
  ProbeResult r = mx_result(true);
  r.mx_hosts[0].result.starttls_offered = false;
  r.mx_hosts[0].result.tls.reset();
  r.mx_hosts[1].result.tls.reset();  // tls = "none": no handshake tried
  auto mx = judge_mx(r, "example.com", nullptr);
  EXPECT_EQ(mx[0].valid, false);
  EXPECT_THAT(mx[0].problem, HasSubstr("does not offer STARTTLS"));
  EXPECT_EQ(mx[1].valid, std::nullopt);
  r.mx_hosts[1].reachable = false;  // unreachable: the mx unit's business, not a TLS verdict
  r.mx_hosts[1].result.tls.emplace();
  EXPECT_EQ(judge_mx(r, "example.com", nullptr)[1].valid, std::nullopt);
}

ProbeResult with_section(const std::string& body, std::vector<MtaStsMx> mx, bool stale = false) {
  ProbeResult r;
  MtaStsSection s;
  s.domain = "example.com";
  s.txt = parse_sts_record({"v=STSv1; id=abc"});
  s.fetch.emplace();
  s.fetch->outcome = PolicyFetch::Outcome::ok;
  s.fetch->status = 200;
  s.fetch->body = body;
  s.policy = parse_sts_policy(body);
  s.mx = std::move(mx);
  s.stale_id = stale;
  s.tlsrpt = parse_tlsrpt_record({"v=TLSRPTv1; rua=mailto:r@example.com"});
  r.sections.insert_or_assign("mta_sts", std::move(s));
  return r;
}

std::vector<Finding> findings_of(const ProbeResult& r) {
  std::vector<Finding> out;
  config::Module module;
  mta_sts_check().findings(r, module, out);
  return out;
}

double value(const std::vector<Series>& series, std::string_view name,
             std::vector<std::pair<std::string, std::string>> labels = {}) {
  for (const auto& s : series)
    if (s.name == name && s.labels == labels) return s.value;
  ADD_FAILURE() << "no series " << name;
  return -1;
}

TEST(MtaStsUnit, EnforceWithAnUncoveredMxIsUnhealthyAndNamesTheLine) {
  ProbeResult r = with_section(std::string(kGood), {{"mx1.example.com", "mx1.example.com", true, ""},
                                                    {"mx3.example.com", std::nullopt, true, ""}});
  auto f = findings_of(r);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].key, "mta_sts/mx_not_covered");
  EXPECT_EQ(f[0].severity, Health::unhealthy);
  EXPECT_THAT(f[0].text, HasSubstr("add the line \"mx: mx3.example.com\""));
  std::vector<Series> s;
  mta_sts_check().series(r, s);
  EXPECT_EQ(value(s, "probe_smtp_mta_sts_mx_covered", {{"mx", "mx3.example.com"}}), 0);
  EXPECT_EQ(value(s, "probe_smtp_mta_sts_mx_covered", {{"mx", "mx1.example.com"}}), 1);
  EXPECT_EQ(value(s, "probe_smtp_mta_sts_policy_mode", {{"mode", "enforce"}}), 1);
  EXPECT_EQ(value(s, "probe_smtp_mta_sts_policy_mode", {{"mode", "testing"}}), 0);
  EXPECT_EQ(value(s, "probe_smtp_mta_sts_max_age_seconds"), 86400);
  EXPECT_EQ(value(s, "probe_smtp_mta_sts_id_info", {{"id", "abc"}}), 1);
  EXPECT_EQ(value(s, "probe_smtp_tlsrpt_record_valid"), 1);
  EXPECT_EQ(value(s, "probe_smtp_mta_sts_stale_id"), 0);
}

TEST(MtaStsUnit, TestingModeIsDegraded) {
  ProbeResult r = with_section("version: STSv1\nmode: testing\nmx: mx1.example.com\nmax_age: 60\n",
                               {{"mx2.example.com", std::nullopt, false, "bad"}});
  auto f = findings_of(r);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].severity, Health::degraded);
  EXPECT_EQ(f[1].key, "mta_sts/mx_invalid");
  EXPECT_EQ(f[1].severity, Health::degraded);
}

TEST(MtaStsUnit, StaleIdAndTlsRptAreDegraded) {
  ProbeResult r = with_section(std::string(kGood), {{"mx1.example.com", "mx1.example.com", true, ""}}, true);
  auto& s = std::any_cast<MtaStsSection&>(r.sections.find("mta_sts")->second);
  s.tlsrpt = parse_tlsrpt_record({});
  auto f = findings_of(r);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].key, "mta_sts/stale_id");
  EXPECT_EQ(f[1].key, "mta_sts/tlsrpt_invalid");
  for (const auto& x : f) EXPECT_EQ(x.severity, Health::degraded);
}

TEST(MtaStsUnit, PolicyHostCertificateExpiringWithinTheModulesDaysIsDegraded) {
  ProbeResult r = with_section(std::string(kGood), {{"mx1.example.com", "mx1.example.com", true, ""}});
  auto& s = std::any_cast<MtaStsSection&>(r.sections.find("mta_sts")->second);
  s.fetch->tls.emplace();
  s.fetch->tls->verified = true;
  s.fetch->tls->leaf_days_to_expiry = 7.5;
  auto f = findings_of(r);  // degraded_cert_days = 14
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].key, "mta_sts/policy_cert_expiring");
  EXPECT_EQ(f[0].severity, Health::degraded);
  EXPECT_THAT(f[0].text, HasSubstr("expires in 7 days"));
  s.fetch->tls->leaf_days_to_expiry = 20;
  EXPECT_THAT(findings_of(r), IsEmpty());
}

TEST(MtaStsUnit, TwoTxtRecordsMeanNoPolicyInForce) {
  ProbeResult r = with_section(std::string(kGood), {{"mx3.example.com", std::nullopt, true, ""}});
  auto& s = std::any_cast<MtaStsSection&>(r.sections.find("mta_sts")->second);
  s.txt = parse_sts_record({"v=STSv1; id=a", "v=STSv1; id=b"});
  EXPECT_THAT(findings_of(r), IsEmpty());  // the probe's failure (txt_invalid) says it
  std::vector<Series> series;
  mta_sts_check().series(r, series);
  EXPECT_EQ(value(series, "probe_smtp_mta_sts_policy_mode", {{"mode", "enforce"}}), 0);
  EXPECT_EQ(value(series, "probe_smtp_mta_sts_policy_valid"), 1);  // the file itself is fine
  EXPECT_EQ(value(series, "probe_smtp_mta_sts_txt_records"), 2);
}

TEST(MtaStsUnit, ModeNoneMakesNoCoverageFinding) {
  ProbeResult r = with_section("version: STSv1\nmode: none\nmax_age: 86400\n", {{"mx3.example.com", std::nullopt, false, "x"}});
  EXPECT_THAT(findings_of(r), IsEmpty());
}

TEST(MtaStsUnit, EveryFindingAndFailureKeyHasARemediation) {
  std::vector<std::string> keys;
  for (const auto& e : mta_sts_check().remediations()) keys.emplace_back(e.key);
  for (std::string_view k : {"mta_sts/txt_missing", "mta_sts/txt_invalid", "mta_sts/policy_fetch_error",
                             "mta_sts/policy_certificate_error", "mta_sts/policy_http_status",
                             "mta_sts/policy_content_type", "mta_sts/policy_too_large", "mta_sts/policy_invalid",
                             "mta_sts/mx_not_covered", "mta_sts/mx_invalid", "mta_sts/stale_id",
                             "mta_sts/policy_cert_expiring", "mta_sts/tlsrpt_invalid"})
    EXPECT_THAT(keys, ::testing::Contains(std::string(k)));
}

}  // namespace
}  // namespace smtp_exporter::probes
