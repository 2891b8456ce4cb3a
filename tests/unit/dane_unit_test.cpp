// The dane unit's series, findings and health from a hand-made section
// (probes/checks/dane.h), its switch, and its remediation entries.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "checks/dane.h"
#include "smtp_exporter/check.h"
#include "smtp_exporter/config.h"
#include "smtp_exporter/health.h"
#include "smtp_exporter/report.h"
#include "views/remediation.h"

namespace smtp_exporter::probes {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

DaneRecord rec(int usage, int depth, bool is_usable = true) {
  return {TlsaRecord{static_cast<std::uint8_t>(usage), 1, 1, Bytes(32, 7)}, is_usable, depth};
}

DaneSection secure(std::vector<DaneRecord> records, bool verified) {
  DaneSection s;
  s.host = "mail.dane.lab";
  s.tlsa_name = "_25._tcp.mail.dane.lab";
  s.address_status = DnssecStatus::secure;
  s.tlsa_status = DnssecStatus::secure;
  s.records = std::move(records);
  s.handshake = true;
  s.verified = verified;
  return s;
}

ProbeResult with(DaneSection s) {
  ProbeResult r;
  r.success = true;
  r.sections.emplace("dane", std::move(s));
  return r;
}

double value(const std::vector<Series>& series, std::string_view name,
             std::vector<std::pair<std::string, std::string>> labels = {}) {
  for (const auto& s : series)
    if (s.name == name && (labels.empty() || s.labels == labels)) return s.value;
  ADD_FAILURE() << "no series " << name;
  return -1;
}

std::vector<std::string> keys(const ProbeResult& r) {
  std::vector<std::string> out;
  for (const auto& f : check_findings(r, config::Module{})) out.push_back(f.key);
  return out;
}

// The `check` report and /healthz: the chain of answers, each record with
// whether it matched, and OpenSSL's decision.
TEST(DaneUnit, ReportsEachRecordAndTheDecision) {
  Report report = probes::report(with(secure({rec(3, 0), rec(3, -1), rec(1, -1, false)}, true)), config::Module{});
  const Fact* dane = nullptr;
  for (const auto& f : report.facts)
    if (f.label == "DANE") dane = &f;
  ASSERT_NE(dane, nullptr);
  EXPECT_EQ(dane->lines.front(), "_25._tcp.mail.dane.lab: DNSSEC secure (TLSA secure, addresses secure)");
  EXPECT_THAT(dane->lines[1], ::testing::HasSubstr("(matches at depth 0)"));
  EXPECT_THAT(dane->lines[2], ::testing::HasSubstr("(does not match)"));
  EXPECT_THAT(dane->lines[3], ::testing::HasSubstr("(unusable)"));
  EXPECT_EQ(dane->lines.back(), "authenticated by DANE; ready for a key rollover");
  EXPECT_EQ(report.check["dane"]["matchingRecords"], 1);
  EXPECT_EQ(report.check["dane"]["usableRecords"], 2);
  EXPECT_EQ(report.check["dane"]["records"][1]["matchDepth"], nullptr);
  EXPECT_EQ(report.healthz["daneVerified"], true);
  EXPECT_FALSE(probes::report(ProbeResult{}, config::Module{}).check.contains("dane"));
}

TEST(DaneUnit, SwitchNeedsTls) {
  config::Config c = config::load_string("[modules.a]\ntls = \"starttls\"\ndane = true\n", "x.toml");
  EXPECT_TRUE(dane_check().enabled(c.modules.at("a")));
  EXPECT_THROW(config::load_string("[modules.a]\ndane = true\n", "x.toml"), config::ConfigError);
  EXPECT_THROW(config::load_string("[modules.a]\ntls = \"opportunistic\"\ndane = true\n", "x.toml"),
               config::ConfigError);
}

TEST(DaneUnit, OneMatchingRecordIsVerifiedButNotReadyForARollover) {
  ProbeResult r = with(secure({rec(3, 0)}, true));
  auto series = check_series(r);
  EXPECT_EQ(value(series, "probe_smtp_dane_dnssec_status", {{"status", "secure"}}), 1);
  EXPECT_EQ(value(series, "probe_smtp_dane_dnssec_status", {{"status", "bogus"}}), 0);
  EXPECT_EQ(value(series, "probe_smtp_dane_tlsa_records"), 1);
  EXPECT_EQ(value(series, "probe_smtp_dane_usable_records"), 1);
  EXPECT_EQ(value(series, "probe_smtp_dane_matching_records"), 1);
  EXPECT_EQ(value(series, "probe_smtp_dane_verified"), 1);
  EXPECT_EQ(value(series, "probe_smtp_dane_rollover_ready"), 0);
  EXPECT_EQ(value(series, "probe_smtp_dane_tlsa_record_match",
                  {{"usage", "3"}, {"selector", "1"}, {"matching_type", "1"}, {"depth", "0"}}),
            1);
  EXPECT_THAT(keys(r), ElementsAre("dane/rollover_not_ready"));
  EXPECT_EQ(classify_health(r, config::Module{}).status, Health::degraded);
}

TEST(DaneUnit, ARolloverPairIsHealthy) {
  ProbeResult r = with(secure({rec(3, 0), rec(3, -1)}, true));
  auto series = check_series(r);
  EXPECT_EQ(value(series, "probe_smtp_dane_matching_records"), 1);
  EXPECT_EQ(value(series, "probe_smtp_dane_rollover_ready"), 1);
  EXPECT_EQ(value(series, "probe_smtp_dane_tlsa_record_match",
                  {{"usage", "3"}, {"selector", "1"}, {"matching_type", "1"}, {"depth", "none"}}),
            0);
  EXPECT_THAT(keys(r), IsEmpty());
  EXPECT_EQ(classify_health(r, config::Module{}).status, Health::healthy);
}

TEST(DaneUnit, NoMatchOnAnMxHostIsUnhealthyEvenWhenTheDomainWorks) {
  ProbeResult domain;
  domain.success = true;
  domain.mx_hosts.push_back({"mx2.dane.lab", 20, "127.0.0.1", true, with(secure({rec(3, -1)}, false))});
  EXPECT_THAT(keys(domain), Contains("dane/mismatch"));
  EXPECT_EQ(classify_health(domain, config::Module{}).status, Health::unhealthy);
  auto series = check_series(domain);
  EXPECT_EQ(value(series, "probe_smtp_dane_verified", {{"mx", "mx2.dane.lab"}, {"ip", "127.0.0.1"}}), 0);
}

TEST(DaneUnit, TheProbesOwnFailureIsNotRepeatedAsAFinding) {
  ProbeResult r = with(secure({rec(3, -1)}, false));
  r.success = false;
  r.failure = Failure{Stage::starttls, FailureReason::dane_mismatch, "no usable TLSA record"};
  EXPECT_THAT(keys(r), IsEmpty());
  EXPECT_EQ(classify_health(r, config::Module{}).status, Health::unhealthy);
}

TEST(DaneUnit, InsecureRecordsAreIgnoredBySendersAndDegraded) {
  DaneSection s = secure({rec(3, 0)}, false);
  s.tlsa_status = DnssecStatus::insecure;
  ProbeResult r = with(s);
  auto series = check_series(r);
  EXPECT_EQ(value(series, "probe_smtp_dane_dnssec_status", {{"status", "insecure"}}), 1);
  EXPECT_EQ(value(series, "probe_smtp_dane_usable_records"), 0);
  EXPECT_EQ(value(series, "probe_smtp_dane_rollover_ready"), 0);
  EXPECT_THAT(keys(r), ElementsAre("dane/insecure_tlsa"));
}

TEST(DaneUnit, AnInsecureAddressMakesSecureTlsaInsecure) {
  DaneSection s = secure({rec(3, 0)}, false);
  s.address_status = DnssecStatus::insecure;
  EXPECT_EQ(s.status(), DnssecStatus::insecure);
  EXPECT_FALSE(s.applies());
  EXPECT_THAT(keys(with(s)), ElementsAre("dane/insecure_tlsa"));
}

TEST(DaneUnit, AnInsecureMxSetMakesItsHostsTlsaInsecure) {
  DaneSection s = secure({rec(3, 0)}, false);
  s.mx_status = DnssecStatus::insecure;
  EXPECT_EQ(s.status(), DnssecStatus::insecure);
  EXPECT_FALSE(s.applies());
  s.mx_status = DnssecStatus::secure;
  EXPECT_EQ(s.status(), DnssecStatus::secure);
  s.mx_status = DnssecStatus::bogus;
  EXPECT_EQ(s.status(), DnssecStatus::bogus);
}

TEST(DaneUnit, OnlyUnusableRecordsAreDegraded) {
  ProbeResult r = with(secure({rec(1, 0, false), rec(0, -1, false)}, false));
  auto series = check_series(r);
  EXPECT_EQ(value(series, "probe_smtp_dane_tlsa_records"), 2);
  EXPECT_EQ(value(series, "probe_smtp_dane_usable_records"), 0);
  EXPECT_EQ(value(series, "probe_smtp_dane_matching_records"), 0);
  EXPECT_THAT(keys(r), ElementsAre("dane/no_usable_records"));
}

TEST(DaneUnit, BogusIsUnhealthy) {
  DaneSection s;
  s.address_status = DnssecStatus::secure;
  s.tlsa_status = DnssecStatus::bogus;
  s.tlsa_name = "_25._tcp.mail.dane.lab";
  ProbeResult domain;
  domain.success = true;
  domain.mx_hosts.push_back({"mail.dane.lab", 10, "127.0.0.1", true, with(s)});
  EXPECT_THAT(keys(domain), ElementsAre("dane/dnssec_bogus"));
  EXPECT_EQ(classify_health(domain, config::Module{}).status, Health::unhealthy);
}

// The finding names the answer that failed: the MX set is validated too
// (RFC 7672 §2.2.1), not only the addresses and the TLSA records.
TEST(DaneUnit, BogusNamesTheAnswerThatFailed) {
  auto text_of = [](DaneSection s) {
    ProbeResult domain;
    domain.success = true;
    domain.mx_hosts.push_back({"mail.dane.lab", 10, "127.0.0.1", true, with(std::move(s))});
    auto findings = check_findings(domain, config::Module{});
    return findings.size() == 1 ? findings[0].text : "(" + std::to_string(findings.size()) + " findings)";
  };
  DaneSection mx;
  mx.host = "mail.dane.lab";
  mx.mx_status = DnssecStatus::bogus;
  mx.detail = "signature expired";
  EXPECT_EQ(text_of(mx), "DNSSEC validation of the MX records naming mail.dane.lab fails: signature expired");
  DaneSection addresses = mx;
  addresses.mx_status = DnssecStatus::secure;
  addresses.address_status = DnssecStatus::bogus;
  EXPECT_EQ(text_of(addresses), "DNSSEC validation of the addresses of mail.dane.lab fails: signature expired");
  DaneSection tlsa = secure({}, false);
  tlsa.tlsa_status = DnssecStatus::bogus;
  tlsa.detail = "no signatures";
  EXPECT_EQ(text_of(tlsa), "DNSSEC validation of _25._tcp.mail.dane.lab TLSA fails: no signatures");
  const auto* entry = exporter::find_remediation("dane/dnssec_bogus");
  ASSERT_TRUE(entry);
  EXPECT_THAT(entry->title, ::testing::HasSubstr("MX"));
}

TEST(DaneUnit, NoTlsaIsNoDaneAndNoFinding) {
  DaneSection s = secure({}, false);
  s.handshake = false;  // no records: the handshake is the module's own
  ProbeResult r = with(s);
  auto series = check_series(r);
  EXPECT_EQ(value(series, "probe_smtp_dane_tlsa_records"), 0);
  for (const auto& one : series) EXPECT_NE(one.name, "probe_smtp_dane_matching_records");
  EXPECT_THAT(keys(r), IsEmpty());
}

TEST(DaneUnit, EveryFindingAndFailureHasARemediationEntry) {
  for (const char* key : {"dane/mismatch", "dane/dnssec_bogus", "dane/tlsa_lookup_error", "dane/rollover_not_ready",
                          "dane/insecure_tlsa", "dane/no_usable_records"})
    EXPECT_TRUE(exporter::find_remediation(key)) << key;
  for (auto reason : {FailureReason::dane_mismatch, FailureReason::dnssec_bogus, FailureReason::tlsa_lookup_error})
    for (const auto& key : exporter::failure_keys(Stage::starttls, reason, {}))
      EXPECT_TRUE(exporter::find_remediation(key)) << key;
}

}  // namespace
}  // namespace smtp_exporter::probes
