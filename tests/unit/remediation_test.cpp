// The remediation table: which entry each failure and each degraded finding
// leads to, the Markdown generator, and docs/troubleshooting.md being its
// output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "views/check_report.h"
#include "views/remediation.h"

namespace smtp_exporter::exporter {
namespace {

using probes::FailureReason;
using probes::ProbeResult;
using probes::Stage;
using testing::ElementsAre;
using testing::HasSubstr;
using testing::IsEmpty;
using testing::Not;

std::vector<std::string> keys_of(const std::vector<const Remediation*>& entries) {
  std::vector<std::string> keys;
  for (const auto* e : entries) keys.emplace_back(e->key);
  return keys;
}

TEST(RemediationTable, KeysAreUniqueAndEveryEntryIsComplete) {
  std::set<std::string_view> seen;
  for (const auto& entry : remediation_table()) {
    EXPECT_TRUE(seen.insert(entry.key).second) << "duplicate key " << entry.key;
    EXPECT_FALSE(entry.title.empty()) << entry.key;
    EXPECT_FALSE(entry.causes.empty()) << entry.key;
    EXPECT_FALSE(entry.fixes.empty()) << entry.key;
    EXPECT_EQ(find_remediation(entry.key), &entry);
  }
  EXPECT_EQ(find_remediation("no/such/key"), nullptr);
}

TEST(RemediationTable, HasTheEntriesTheCheckCommandAndTheAuthFeatureNeed) {
  for (const char* key :
       {"dns/nxdomain", "dns/nodata", "dns/servfail", "dns/refused", "dns/timeout", "dns/dns_error", "dns/null_mx",
        "dns/no_mx", "connect/refused", "connect/timeout", "connect/unreachable", "connect/no_reachable_mx",
        "connection/error", "banner/timeout", "banner/unexpected_code", "banner/protocol_error", "ehlo/unexpected_code",
        "smtp/closed", "smtp/protocol_error", "smtp/timeout", "smtp/temporary_failure", "auth/auth_error",
        "tls/not_offered", "tls/starttls_refused", "tls/tls_error", "tls/certificate_error/expired",
        "tls/certificate_error/not_yet_valid", "tls/certificate_error/self_signed", "tls/certificate_error/unknown_ca",
        "tls/certificate_error/hostname_mismatch", "tls/certificate_error", "health/cert_expiring",
        "health/slow_greeting"})
    EXPECT_NE(find_remediation(key), nullptr) << key;
}

TEST(RemediationTable, AdviceNamesTheCommandsToRun) {
  auto text_of = [](std::string_view key) {
    const Remediation* e = find_remediation(key);
    std::string all;
    if (!e) return all;
    for (const auto* list : {&e->causes, &e->fixes, &e->docker, &e->kubernetes})
      for (auto line : *list) all += std::string(line) + "\n";
    return all;
  };
  EXPECT_THAT(text_of("connect/refused"), HasSubstr("nc -vz {host} {port}"));
  EXPECT_THAT(text_of("connect/refused"), HasSubstr("ss -ltnp"));
  EXPECT_THAT(text_of("connect/refused"), HasSubstr("systemctl status postfix"));
  EXPECT_THAT(text_of("dns/nxdomain"), HasSubstr("dig MX {domain}"));
  EXPECT_THAT(text_of("dns/nxdomain"), HasSubstr("dig +short A {host}"));
  for (const char* tls : {"tls/tls_error", "tls/certificate_error/expired", "tls/certificate_error/unknown_ca",
                          "tls/certificate_error/hostname_mismatch", "tls/certificate_error/self_signed"})
    EXPECT_THAT(text_of(tls), HasSubstr("openssl s_client {starttls}-connect {host}:{port} -servername {name}")) << tls;
  EXPECT_THAT(text_of("health/cert_expiring"), HasSubstr("certbot renew"));
  EXPECT_THAT(text_of("health/cert_expiring"), HasSubstr("postfix reload"));
  EXPECT_THAT(text_of("auth/auth_error"), HasSubstr("app password"));
  EXPECT_THAT(text_of("smtp/temporary_failure"), HasSubstr("reylisting"));
}

// ---- failure → key ---------------------------------------------------------------------

struct KeyCase {
  const char* name;
  const char* stage;
  const char* reason;
  std::vector<std::string> verify_errors;
  std::vector<std::string> expected;
};

class FailureKeys : public testing::TestWithParam<KeyCase> {};

TEST_P(FailureKeys, MapToTheRightEntry) {
  const KeyCase& c = GetParam();
  auto keys = failure_keys(c.stage, c.reason, c.verify_errors);
  EXPECT_EQ(keys, c.expected);
  for (const auto& key : keys) EXPECT_NE(find_remediation(key), nullptr) << key;
}

INSTANTIATE_TEST_SUITE_P(
    Remediation, FailureKeys,
    testing::Values(
        KeyCase{"resolve_nxdomain", "resolve", "nxdomain", {}, {"dns/nxdomain"}},
        KeyCase{"mx_nxdomain", "mx", "nxdomain", {}, {"dns/nxdomain"}},
        KeyCase{"resolve_nodata", "resolve", "nodata", {}, {"dns/nodata"}},
        KeyCase{"resolve_servfail", "resolve", "servfail", {}, {"dns/servfail"}},
        KeyCase{"resolve_refused_is_dns", "resolve", "refused", {}, {"dns/refused"}},
        KeyCase{"mx_timeout_is_dns", "mx", "timeout", {}, {"dns/timeout"}},
        KeyCase{"resolve_dns_error", "resolve", "dns_error", {}, {"dns/dns_error"}},
        KeyCase{"null_mx", "mx", "null_mx", {}, {"dns/null_mx"}},
        KeyCase{"connect_refused", "connect", "refused", {}, {"connect/refused"}},
        KeyCase{"connect_timeout", "connect", "timeout", {}, {"connect/timeout"}},
        KeyCase{"connect_unreachable", "connect", "unreachable", {}, {"connect/unreachable"}},
        KeyCase{"no_reachable_mx", "connect", "no_reachable_mx", {}, {"connect/no_reachable_mx"}},
        KeyCase{"connection_error", "connect", "connection_error", {}, {"connection/error"}},
        KeyCase{"implicit_tls_handshake", "tls", "tls_error", {}, {"tls/tls_error"}},
        KeyCase{"starttls_handshake", "starttls", "tls_error", {}, {"tls/tls_error"}},
        KeyCase{"expired", "starttls", "certificate_error", {"expired"}, {"tls/certificate_error/expired"}},
        KeyCase{"not_yet_valid", "tls", "certificate_error", {"not_yet_valid"}, {"tls/certificate_error/not_yet_valid"}},
        KeyCase{"self_signed", "starttls", "certificate_error", {"self_signed"}, {"tls/certificate_error/self_signed"}},
        KeyCase{"unknown_ca", "starttls", "certificate_error", {"unknown_ca"}, {"tls/certificate_error/unknown_ca"}},
        KeyCase{"hostname_mismatch", "tls", "certificate_error", {"hostname_mismatch"},
                {"tls/certificate_error/hostname_mismatch"}},
        KeyCase{"two_problems", "starttls", "certificate_error", {"hostname_mismatch", "self_signed"},
                {"tls/certificate_error/self_signed", "tls/certificate_error/hostname_mismatch"}},
        KeyCase{"revoked_is_generic", "starttls", "certificate_error", {"revoked"}, {"tls/certificate_error"}},
        KeyCase{"unknown_verify_reason_adds_generic", "starttls", "certificate_error", {"expired", "weak_key"},
                {"tls/certificate_error/expired", "tls/certificate_error"}},
        KeyCase{"certificate_error_without_facts", "starttls", "certificate_error", {}, {"tls/certificate_error"}},
        KeyCase{"starttls_not_offered", "starttls", "not_offered", {}, {"tls/not_offered"}},
        KeyCase{"auth_not_offered_is_not_starttls", "auth", "not_offered", {}, {"auth/not_offered"}},
        KeyCase{"plaintext_auth_refused", "auth", "plaintext_auth_refused", {}, {"auth/plaintext_auth_refused"}},
        KeyCase{"message_refused", "data", "permanent_failure", {}, {"smtp/permanent_failure"}},
        KeyCase{"recipient_refused", "rcpt", "permanent_failure", {}, {"smtp/permanent_failure"}},
        KeyCase{"starttls_454", "starttls", "unexpected_code", {}, {"tls/starttls_refused"}},
        KeyCase{"greeting_timeout", "banner", "timeout", {}, {"banner/timeout"}},
        KeyCase{"greeting_421_or_554", "banner", "unexpected_code", {}, {"banner/unexpected_code"}},
        KeyCase{"not_smtp", "banner", "protocol_error", {}, {"banner/protocol_error"}},
        KeyCase{"closed_at_greeting", "banner", "closed", {}, {"smtp/closed"}},
        KeyCase{"closed_at_ehlo", "ehlo", "closed", {}, {"smtp/closed"}},
        KeyCase{"ehlo_rejected", "ehlo", "unexpected_code", {}, {"ehlo/unexpected_code"}},
        KeyCase{"ehlo_malformed", "ehlo", "protocol_error", {}, {"smtp/protocol_error"}},
        KeyCase{"starttls_injection", "starttls", "protocol_error", {}, {"smtp/protocol_error"}},
        KeyCase{"ehlo_timeout", "ehlo", "timeout", {}, {"smtp/timeout"}},
        KeyCase{"handshake_timeout", "tls", "timeout", {}, {"smtp/timeout"}},
        KeyCase{"auth_535", "auth", "auth_error", {}, {"auth/auth_error"}},
        KeyCase{"greylisted", "mail", "temporary_failure", {}, {"smtp/temporary_failure"}},
        KeyCase{"not_delivered", "receive", "not_delivered", {}, {"delivery/not_delivered"}},
        KeyCase{"delivered_to_junk", "receive", "delivered_to_junk", {}, {"delivery/delivered_to_junk"}},
        KeyCase{"unknown_reason", "ehlo", "something_new", {}, {}}),
    [](const auto& info) { return std::string(info.param.name); });

// Every stage/reason pair (whatever enumerators exist) leads only to entries that exist.
TEST(FailureKeys, EveryKeyReturnedExists) {
  for (int s = 0; to_string(static_cast<Stage>(s)) != "unknown"; ++s)
    for (int r = 0; to_string(static_cast<FailureReason>(r)) != "unknown"; ++r) {
      auto stage = to_string(static_cast<Stage>(s));
      auto reason = to_string(static_cast<FailureReason>(r));
      for (const auto& key : failure_keys(stage, reason, {"expired", "other"}))
        EXPECT_NE(find_remediation(key), nullptr) << stage << "/" << reason << " -> " << key;
    }
}

// ---- probe result → entries ------------------------------------------------------------

ProbeResult failed(Stage stage, FailureReason reason) {
  ProbeResult r;
  r.failure = probes::Failure{stage, reason, "detail"};
  return r;
}

ProbeResult working(double banner_latency = 0.05) {
  ProbeResult r;
  r.success = true;
  r.banner_latency_seconds = banner_latency;
  return r;
}

ProbeResult with_certificate(ProbeResult r, double days, std::vector<std::string> errors = {}) {
  r.tls = probes::TlsInfo{};
  r.tls->server_name = "mail.example.test";
  r.tls->leaf_days_to_expiry = days;
  r.tls->verify_errors = std::move(errors);
  r.tls->verified = r.tls->verify_errors.empty();
  return r;
}

TEST(RemediationFor, HealthyResultNeedsNothing) {
  config::Module module;
  EXPECT_THAT(keys_of(remediation_for(working(), module)), IsEmpty());
  EXPECT_THAT(keys_of(remediation_for(with_certificate(working(), 60), module)), IsEmpty());
}

TEST(RemediationFor, Failures) {
  config::Module module;
  EXPECT_THAT(keys_of(remediation_for(failed(Stage::connect, FailureReason::refused), module)),
              ElementsAre("connect/refused"));
  EXPECT_THAT(keys_of(remediation_for(failed(Stage::resolve, FailureReason::nxdomain), module)),
              ElementsAre("dns/nxdomain"));
  EXPECT_THAT(
      keys_of(remediation_for(with_certificate(failed(Stage::starttls, FailureReason::certificate_error), 60,
                                               {"unknown_ca"}),
                              module)),
      ElementsAre("tls/certificate_error/unknown_ca"));
  // An expired certificate that failed the probe is said once.
  EXPECT_THAT(keys_of(remediation_for(
                  with_certificate(failed(Stage::starttls, FailureReason::certificate_error), -3, {"expired"}), module)),
              ElementsAre("tls/certificate_error/expired"));
}

TEST(RemediationFor, FailedNegativeChecks) {
  config::Module relay_check;
  relay_check.expect_code["rcpt"] = {"5xx"};
  ProbeResult relayed = failed(Stage::rcpt, FailureReason::unexpected_code);
  relayed.recipients = {{"someone@foreign.example", 250}};
  EXPECT_THAT(keys_of(remediation_for(relayed, relay_check)),
              ElementsAre("smtp/open_relay", "smtp/unexpected_reply"));
  // The same failure without an accepted recipient (e.g. a 3xx) is no open relay.
  relayed.recipients = {{"someone@foreign.example", 354}};
  EXPECT_THAT(keys_of(remediation_for(relayed, relay_check)), ElementsAre("smtp/unexpected_reply"));

  config::Module auth_check;
  auth_check.expect_code["auth"] = {"530"};
  EXPECT_THAT(keys_of(remediation_for(failed(Stage::auth, FailureReason::unexpected_code), auth_check)),
              ElementsAre("auth/accepted_without_tls", "smtp/unexpected_reply"));
  config::Module plain;
  EXPECT_THAT(keys_of(remediation_for(failed(Stage::auth, FailureReason::unexpected_code), plain)),
              ElementsAre("smtp/unexpected_reply"));
}

TEST(RemediationFor, DegradedFindings) {
  config::Module module;  // degraded_cert_days 14, degraded_banner_latency 2s
  EXPECT_THAT(keys_of(remediation_for(with_certificate(working(), 9.5), module)), ElementsAre("health/cert_expiring"));
  EXPECT_THAT(keys_of(remediation_for(with_certificate(working(), 20), module)), IsEmpty());
  module.degraded_cert_days = 60;
  EXPECT_THAT(keys_of(remediation_for(with_certificate(working(), 29.9), module)),
              ElementsAre("health/cert_expiring"));
  EXPECT_THAT(keys_of(remediation_for(working(2.5), module)), ElementsAre("health/slow_greeting"));
  ProbeResult implicit = working();
  implicit.mx = probes::MxInfo{};
  implicit.mx->implicit = true;
  EXPECT_THAT(keys_of(remediation_for(implicit, module)), ElementsAre("dns/no_mx"));
  // Opportunistic TLS with an expired certificate: the probe passes, the advice is still there.
  EXPECT_THAT(keys_of(remediation_for(with_certificate(working(), -1, {"expired"}), module)),
              ElementsAre("tls/certificate_error/expired"));
  // The failure comes first, then the findings.
  ProbeResult both = with_certificate(working(3.0), 5);
  EXPECT_THAT(keys_of(remediation_for(both, module)), ElementsAre("health/cert_expiring", "health/slow_greeting"));
}

TEST(RemediationFor, MailDomainUsesItsHostsFailures) {
  config::Module module;
  ProbeResult r = failed(Stage::connect, FailureReason::no_reachable_mx);
  r.mx = probes::MxInfo{};
  r.mx_hosts.push_back({"mx1.example.test", 10, "192.0.2.1", false, failed(Stage::connect, FailureReason::refused)});
  r.mx_hosts.push_back({"mx2.example.test", 20, "192.0.2.2", false, failed(Stage::connect, FailureReason::timeout)});
  r.mx_hosts.push_back({"mx3.example.test", 30, "192.0.2.3", false, failed(Stage::connect, FailureReason::refused)});
  EXPECT_THAT(keys_of(remediation_for(r, module)),
              ElementsAre("connect/no_reachable_mx", "connect/refused", "connect/timeout"));

  // The domain fails with a host's certificate problem: the host's TLS facts say which.
  ProbeResult cert = failed(Stage::starttls, FailureReason::certificate_error);
  cert.mx = probes::MxInfo{};
  cert.mx_hosts.push_back({"mx1.example.test", 10, "192.0.2.1", true,
                           with_certificate(failed(Stage::starttls, FailureReason::certificate_error), 60,
                                            {"hostname_mismatch"})});
  EXPECT_THAT(keys_of(remediation_for(cert, module)), ElementsAre("tls/certificate_error/hostname_mismatch"));
}

// ---- placeholders and Markdown ---------------------------------------------------------

TEST(Expand, FillsThePlaceholdersOnly) {
  RemediationContext c;
  c.host = "mail.example.com";
  c.port = "587";
  c.name = "smtp.example.com";
  c.domain = "example.com";
  c.address = "192.0.2.25";
  c.target = "mail.example.com:587";
  c.module = "submission";
  EXPECT_EQ(expand("openssl s_client {starttls}-connect {host}:{port} -servername {name}", c),
            "openssl s_client -starttls smtp -connect mail.example.com:587 -servername smtp.example.com");
  c.implicit_tls = true;
  EXPECT_EQ(expand("openssl s_client {starttls}-connect {host}:{port}", c),
            "openssl s_client -connect mail.example.com:587");
  EXPECT_EQ(expand("dig MX {domain}; ip route get {address}; check {target} --module {module}", c),
            "dig MX example.com; ip route get 192.0.2.25; check mail.example.com:587 --module submission");
  EXPECT_EQ(expand("docker ps --format '{{.Names}}' {.data.password} {unknown} {", c),
            "docker ps --format '{{.Names}}' {.data.password} {unknown} {");
  EXPECT_EQ(expand("nc -vz {host} {port}", RemediationContext{}), "nc -vz HOST PORT");
}

TEST(Markdown, HasOneSectionPerEntryWithEveryLine) {
  const std::string md = remediation_markdown();
  EXPECT_THAT(md, testing::StartsWith("# Troubleshooting\n"));
  const RemediationContext generic;
  for (const auto& entry : remediation_table()) {
    std::string heading = "\n## `" + std::string(entry.key) + "`: " + std::string(entry.title) + "\n";
    auto at = md.find(heading);
    ASSERT_NE(at, std::string::npos) << entry.key;
    EXPECT_EQ(md.find(heading, at + 1), std::string::npos) << "two sections for " << entry.key;
    for (const auto* list : {&entry.causes, &entry.fixes, &entry.docker, &entry.kubernetes})
      for (auto line : *list) EXPECT_THAT(md, HasSubstr("- " + expand(line, generic) + "\n")) << entry.key;
  }
  for (const char* placeholder : {"{host}", "{port}", "{name}", "{domain}", "{address}", "{target}", "{module}",
                                  "{starttls}"})
    EXPECT_THAT(md, Not(HasSubstr(placeholder)));
  EXPECT_THAT(md, HasSubstr("openssl s_client -starttls smtp -connect HOST:PORT -servername NAME"));
}

TEST(Markdown, DocsTroubleshootingIsTheGeneratorsOutput) {
  std::ifstream file(SMTP_EXPORTER_TROUBLESHOOTING_MD, std::ios::binary);
  ASSERT_TRUE(file) << "cannot read " << SMTP_EXPORTER_TROUBLESHOOTING_MD;
  std::stringstream committed;
  committed << file.rdbuf();
  EXPECT_TRUE(committed.str() == remediation_markdown())
      << SMTP_EXPORTER_TROUBLESHOOTING_MD << " is out of date; regenerate it:\n"
      << "  smtp_exporter check --remediation-markdown > docs/troubleshooting.md";
}

// Advice fits the probe: no name lookups of an IP target, and the configured
// resolver in every dig command.
TEST(AdviceLine, IpTargetsAndConfiguredResolver) {
  RemediationContext c;
  c.host = "192.0.2.25";
  c.address = "192.0.2.25";
  c.domain = "example.com";
  c.host_is_address = true;
  EXPECT_EQ(advice_line("Check the name: `dig +short A {host}` and `dig +short AAAA {host}`.", c), std::nullopt);
  EXPECT_EQ(advice_line("Look it up: `dig -x {address} +short`", c), "Look it up: `dig -x 192.0.2.25 +short`");
  EXPECT_EQ(advice_line("Test the port: `nc -vz {host} 25`.", c), "Test the port: `nc -vz 192.0.2.25 25`.");
  c.host_is_address = false;
  c.host = "mx.example.com";
  c.dns_server = "127.0.0.1 -p 5353";
  EXPECT_EQ(advice_line("See the MX records: `dig MX {domain}`.", c),
            "See the MX records: `dig @127.0.0.1 -p 5353 MX example.com`.");
  EXPECT_EQ(advice_line("Ask each server directly: `dig @SERVER {host}`.", c),
            "Ask each server directly: `dig @127.0.0.1 -p 5353 mx.example.com`.");
  EXPECT_EQ(advice_line("Follow it: `dig +trace {domain}`.", c), "Follow it: `dig +trace example.com`.");
  EXPECT_EQ(advice_line("Ask another resolver: `dig @1.1.1.1 {host}`.", c),
            "Ask another resolver: `dig @1.1.1.1 mx.example.com`.");
}

// The [dns] servers of the module reach the report's advice.
TEST(AdviceLine, ReportUsesTheModulesResolver) {
  CheckSubject s;
  s.target = "mx:example.com";
  s.host = "example.com";
  s.mx = true;
  s.module.dns.servers = {"127.0.0.1:5353"};
  EXPECT_EQ(remediation_context(s, ProbeResult{}).dns_server, "127.0.0.1 -p 5353");
  s.module.dns.servers = {"[::1]:53"};
  EXPECT_EQ(remediation_context(s, ProbeResult{}).dns_server, "::1");
  CheckSubject ip;
  ip.target = "192.0.2.25:25";
  ip.host = "192.0.2.25";
  EXPECT_TRUE(remediation_context(ip, ProbeResult{}).host_is_address);
}

}  // namespace
}  // namespace smtp_exporter::exporter
