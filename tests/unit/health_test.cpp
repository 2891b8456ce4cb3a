// The health classification table: which findings make a result healthy,
// degraded or unhealthy.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "smtp_exporter/health.h"

namespace smtp_exporter::probes {
namespace {

using namespace std::chrono_literals;

ProbeResult working(double banner_latency = 0.05) {
  ProbeResult r;
  r.success = true;
  r.banner_latency_seconds = banner_latency;
  return r;
}

ProbeResult failed(Stage stage, FailureReason reason) {
  ProbeResult r;
  r.failure = Failure{stage, reason, "detail"};
  return r;
}

ProbeResult with_certificate(ProbeResult r, double days, std::vector<std::string> errors = {}) {
  r.tls = TlsInfo{};
  r.tls->server_name = "mail.example.test";
  r.tls->leaf_days_to_expiry = days;
  r.tls->verify_errors = std::move(errors);
  r.tls->verified = r.tls->verify_errors.empty();
  return r;
}

ProbeResult implicit_mx() {
  ProbeResult r = working();
  r.mx = MxInfo{};
  r.mx->implicit = true;
  return r;
}

ProbeResult mx_host_expired() {
  ProbeResult r = working();
  r.mx = MxInfo{};
  r.mx_hosts.push_back({"mx2.example.test", 20, "192.0.2.2", true, with_certificate(working(), -2, {"expired"})});
  return r;
}

struct Case {
  const char* name;
  ProbeResult result;
  Health expected;
  std::string finding;  // a substring of the first (worst) finding; empty: none
};

class Classification : public testing::TestWithParam<Case> {};

TEST_P(Classification, Table) {
  config::Module module;  // degraded_banner_latency 2s, degraded_cert_days 14
  HealthVerdict v = classify_health(GetParam().result, module);
  EXPECT_EQ(to_string(v.status), to_string(GetParam().expected));
  if (GetParam().finding.empty()) {
    EXPECT_TRUE(v.findings.empty()) << v.findings.front();
  } else {
    ASSERT_FALSE(v.findings.empty());
    EXPECT_THAT(v.findings.front(), testing::HasSubstr(GetParam().finding));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Health, Classification,
    testing::Values(
        Case{"working", working(), Health::healthy, ""},
        Case{"valid_certificate", with_certificate(working(), 60), Health::healthy, ""},
        Case{"dns_nxdomain", failed(Stage::resolve, FailureReason::nxdomain), Health::unhealthy, "resolve failed (nxdomain)"},
        Case{"mx_lookup_failed", failed(Stage::mx, FailureReason::servfail), Health::unhealthy, "mx failed (servfail)"},
        Case{"connect_refused", failed(Stage::connect, FailureReason::refused), Health::unhealthy, "connect failed (refused)"},
        Case{"connect_timeout", failed(Stage::connect, FailureReason::timeout), Health::unhealthy, "connect failed (timeout)"},
        Case{"unexpected_greeting", failed(Stage::banner, FailureReason::unexpected_code), Health::unhealthy,
             "banner failed (unexpected_code)"},
        Case{"tls_handshake_failed", failed(Stage::starttls, FailureReason::tls_error), Health::unhealthy,
             "starttls failed (tls_error)"},
        Case{"certificate_not_verified",
             with_certificate(failed(Stage::starttls, FailureReason::certificate_error), 60, {"unknown_ca"}),
             Health::unhealthy, "certificate_error"},
        Case{"expired_certificate_even_when_skipping_verification", with_certificate(working(), -1, {"expired"}),
             Health::unhealthy, "certificate of mail.example.test has expired"},
        Case{"not_smtp_while_tcp_connected", failed(Stage::banner, FailureReason::protocol_error), Health::degraded,
             "banner failed (protocol_error)"},
        Case{"delivered_to_junk", failed(Stage::receive, FailureReason::delivered_to_junk), Health::degraded,
             "receive failed (delivered_to_junk)"},
        Case{"not_delivered", failed(Stage::receive, FailureReason::not_delivered), Health::unhealthy,
             "receive failed (not_delivered)"},
        Case{"slow_greeting", working(2.5), Health::degraded, "greeting took 2.5s (more than 2s)"},
        Case{"certificate_expiring_soon", with_certificate(working(), 9.7), Health::degraded,
             "certificate of mail.example.test expires in 9 days"},
        Case{"certificate_expiring_after_the_threshold", with_certificate(working(), 14.2), Health::healthy, ""},
        Case{"no_mx_records", implicit_mx(), Health::degraded, "no MX records"},
        Case{"expired_certificate_on_one_mx_host", mx_host_expired(), Health::unhealthy, "has expired"},
        Case{"worst_finding_first", with_certificate(working(3.0), 5), Health::degraded, "expires in 5 days"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Classification, ThresholdsComeFromTheModule) {
  config::Module module;
  module.degraded_banner_latency = 0ms;  // disabled
  module.degraded_cert_days = 30;
  EXPECT_EQ(classify_health(working(10.0), module).status, Health::healthy);
  EXPECT_EQ(classify_health(with_certificate(working(), 20), module).status, Health::degraded);
}

}  // namespace
}  // namespace smtp_exporter::probes
