// The probe's TLS: STARTTLS and implicit TLS against the scripted server
// with certificates generated at run time; every certificate fact is
// reported whether or not verification succeeds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include "fake_smtp_server.h"
#include "probe_helpers.h"
#include "smtp_exporter/render.h"
#include "smtp_exporter/tls_context.h"
#include "test_pki.h"

namespace smtp_exporter::testing {
namespace {

using namespace std::chrono_literals;
using probes::FailureReason;
using probes::Stage;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kDay = std::chrono::seconds(24 * 3600);
const std::string kHost = "mail.example.test";

double days_until(std::int64_t unix_seconds) {
  auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return (static_cast<double>(unix_seconds) - now) / 86400.0;
}

class TlsProbe : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new TestPki();
    valid_ = new Issued(pki_->issue({kHost, {kHost}, {"127.0.0.1"}}, pki_->root()));
  }
  static void TearDownTestSuite() {
    delete valid_;
    delete pki_;
  }

  static TlsIdentity identity(const Issued& leaf, std::vector<const Issued*> chain = {}) {
    chain.insert(chain.begin(), &leaf);
    return {pki_->chain_file(chain), leaf.key_file};
  }

  static config::Module module(config::TlsMode mode) {
    config::Module m = test_module();
    m.tls = mode;
    m.tls_config.ca_file = pki_->root().cert_file;
    m.tls_config.server_name = kHost;
    return m;
  }

  static probes::ProbeResult probe(const FakeSmtpServer& server, const config::Module& m) {
    return probe_port(server.port(), m, 5s);
  }

  static TestPki* pki_;
  static Issued* valid_;
};

TestPki* TlsProbe::pki_ = nullptr;
Issued* TlsProbe::valid_ = nullptr;

TEST_F(TlsProbe, StartTlsWithAValidCertificate) {
  FakeSmtpServer server(starttls_server(identity(*valid_)));
  auto r = probe(server, module(config::TlsMode::starttls));
  ASSERT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  ASSERT_TRUE(r.tls.has_value());
  EXPECT_TRUE(r.tls_established);
  EXPECT_TRUE(r.tls->verified);
  EXPECT_TRUE(r.tls->verify_errors.empty());
  EXPECT_EQ(r.starttls_offered, true);
  EXPECT_EQ(r.auth_before_tls, false);
  // The post-TLS EHLO is what is reported.
  EXPECT_THAT(r.auth_mechanisms, ElementsAre("PLAIN", "LOGIN"));
  EXPECT_THAT(server.received(), ElementsAre("EHLO probe.test", "STARTTLS", "EHLO probe.test", "QUIT"));
  ASSERT_EQ(r.tls->presented_chain.size(), 1u);
  const probes::Certificate& leaf = r.tls->presented_chain.front();
  EXPECT_EQ(leaf.not_after, valid_->not_after_unix);
  EXPECT_EQ(leaf.subject, valid_->subject);
  EXPECT_EQ(leaf.issuer, valid_->issuer);
  EXPECT_EQ(leaf.serial, valid_->serial_hex);
  EXPECT_EQ(leaf.fingerprint_sha256, valid_->fingerprint_sha256);
  ASSERT_TRUE(r.tls->leaf_days_to_expiry.has_value());
  EXPECT_NEAR(*r.tls->leaf_days_to_expiry, days_until(valid_->not_after_unix), 0.01);
  EXPECT_EQ(r.tls->verified_chain.size(), 2u);  // leaf and the test CA
  EXPECT_TRUE(r.seconds_in(Stage::tls).has_value());
  EXPECT_TRUE(r.seconds_in(Stage::starttls).has_value());

  std::string text = exporter::render_metrics(r);
  EXPECT_THAT(text, HasSubstr("\nprobe_smtp_tls_verified 1\n"));
  EXPECT_THAT(text, HasSubstr("\nprobe_smtp_starttls_offered 1\n"));
  EXPECT_THAT(text, HasSubstr("\nprobe_smtp_auth_before_tls 0\n"));
  EXPECT_THAT(text, HasSubstr("\nprobe_ssl_earliest_cert_expiry " + std::to_string(valid_->not_after_unix)));
  EXPECT_THAT(text, HasSubstr("probe_ssl_last_chain_info{fingerprint_sha256=\"" + valid_->fingerprint_sha256 +
                              "\",issuer=\"" + valid_->issuer + "\",serialnumber=\"" + valid_->serial_hex +
                              "\",subject=\"" + valid_->subject + "\"} 1"));
  EXPECT_THAT(text, HasSubstr("probe_tls_version_info{version=\"TLS 1.3\"} 1"));
  EXPECT_THAT(text, HasSubstr("probe_tls_cipher_info{cipher=\""));
  EXPECT_THAT(text, HasSubstr("probe_smtp_duration_seconds{phase=\"tls\"}"));
  EXPECT_THAT(text, Not(HasSubstr("probe_smtp_tls_verify_info")));
}

TEST_F(TlsProbe, ImplicitTlsReadsTheGreetingOverTls) {
  FakeSmtpServer server(implicit_tls_server(identity(*valid_)));
  auto r = probe(server, module(config::TlsMode::implicit));
  ASSERT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_TRUE(r.tls->verified);
  EXPECT_EQ(r.banner_code, 220);
  EXPECT_FALSE(r.starttls_offered.has_value()) << "no plain-text EHLO with implicit TLS";
  EXPECT_THAT(server.received(), ElementsAre("EHLO probe.test", "QUIT"));
}

struct BadCertificate {
  const char* name;
  std::function<Issued(TestPki&)> make;
  std::string reason;  // probe_smtp_tls_verify_info
};

class TlsBadCertificates : public TlsProbe, public ::testing::WithParamInterface<BadCertificate> {};

TEST_P(TlsBadCertificates, FailTheProbeButReportTheCertificate) {
  Issued leaf = GetParam().make(*pki_);
  for (auto mode : {config::TlsMode::starttls, config::TlsMode::implicit}) {
    SCOPED_TRACE(std::string(config::to_string(mode)));
    FakeSmtpServer server(mode == config::TlsMode::starttls ? starttls_server(identity(leaf))
                                                            : implicit_tls_server(identity(leaf)));
    auto r = probe(server, module(mode));
    expect_failure(r, mode == config::TlsMode::starttls ? Stage::starttls : Stage::tls,
                   FailureReason::certificate_error);
    ASSERT_TRUE(r.tls.has_value());
    EXPECT_FALSE(r.tls->verified);
    EXPECT_THAT(r.tls->verify_errors, ::testing::Contains(GetParam().reason));
    ASSERT_FALSE(r.tls->presented_chain.empty());
    EXPECT_EQ(r.tls->presented_chain.front().not_after, leaf.not_after_unix);
    EXPECT_NEAR(*r.tls->leaf_days_to_expiry, days_until(leaf.not_after_unix), 0.01);
    std::string text = exporter::render_metrics(r);
    EXPECT_THAT(text, HasSubstr("probe_smtp_tls_verify_info{reason=\"" + GetParam().reason + "\"} 1"));
    EXPECT_THAT(text, HasSubstr("\nprobe_smtp_tls_verified 0\n"));
    EXPECT_THAT(text, HasSubstr("\nprobe_ssl_earliest_cert_expiry " + std::to_string(leaf.not_after_unix)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    TlsProbe, TlsBadCertificates,
    ::testing::Values(
        BadCertificate{"self_signed", [](TestPki& p) { return p.self_signed({kHost, {kHost}, {}}); }, "self_signed"},
        BadCertificate{"expired",
                       [](TestPki& p) { return p.issue({kHost, {kHost}, {}, -30 * kDay, -1 * kDay}, p.root()); },
                       "expired"},
        BadCertificate{"wrong_hostname",
                       [](TestPki& p) { return p.issue({"other.example.test", {"other.example.test"}, {}}, p.root()); },
                       "hostname_mismatch"},
        BadCertificate{"unknown_ca",
                       [](TestPki&) {
                         TestPki other;  // a CA the probe does not trust
                         Issued leaf = other.issue({kHost, {kHost}, {}}, other.root());
                         // Keep the files: copy them next to this suite's PKI.
                         Issued kept = leaf;
                         std::string dir = ::testing::TempDir();
                         kept.cert_file = dir + "/unknown-ca-leaf.pem";
                         kept.key_file = dir + "/unknown-ca-leaf.key";
                         std::filesystem::copy_file(leaf.cert_file, kept.cert_file,
                                                    std::filesystem::copy_options::overwrite_existing);
                         std::filesystem::copy_file(leaf.key_file, kept.key_file,
                                                    std::filesystem::copy_options::overwrite_existing);
                         return kept;
                       },
                       "unknown_ca"}),
    [](const auto& info) { return std::string(info.param.name); });

// Sets SSL_CERT_DIR (and unsets SSL_CERT_FILE) for one test.
class SystemTrustStore {
 public:
  explicit SystemTrustStore(const std::string& dir) {
    for (const char* name : {"SSL_CERT_DIR", "SSL_CERT_FILE"})
      if (const char* v = std::getenv(name)) saved_.emplace_back(name, v);
    setenv("SSL_CERT_DIR", dir.c_str(), 1);
    unsetenv("SSL_CERT_FILE");
  }
  ~SystemTrustStore() {
    unsetenv("SSL_CERT_DIR");
    for (const auto& [name, value] : saved_) setenv(name.c_str(), value.c_str(), 1);
  }

 private:
  std::vector<std::pair<std::string, std::string>> saved_;
};

// A c_rehash'ed CA directory (HASH.0 names) holding `ca`.
std::string hashed_ca_dir(const std::string& parent, const std::string& name, const Issued& ca) {
  std::filesystem::path dir = std::filesystem::path(parent) / name;
  std::filesystem::create_directories(dir);
  std::FILE* in = std::fopen(ca.cert_file.c_str(), "r");
  X509* cert = in ? PEM_read_X509(in, nullptr, nullptr, nullptr) : nullptr;
  if (in) std::fclose(in);
  if (!cert) throw std::runtime_error("cannot read " + ca.cert_file);
  char hash[16];
  std::snprintf(hash, sizeof hash, "%08lx.0", X509_subject_name_hash(cert));
  X509_free(cert);
  std::filesystem::copy_file(ca.cert_file, dir / hash, std::filesystem::copy_options::overwrite_existing);
  return dir.string();
}

// Without ca_file, the system's trust store is used; a hashed directory (as
// Debian's /etc/ssl/certs) is read lazily rather than loaded whole.
TEST_F(TlsProbe, SystemTrustStoreAsAHashedDirectory) {
  FakeSmtpServer server(starttls_server(identity(*valid_)));
  config::Module m = module(config::TlsMode::starttls);
  m.tls_config.ca_file.clear();
  {
    SystemTrustStore store(hashed_ca_dir(pki_->dir(), "trusted", pki_->root()));
    auto r = probe(server, m);
    ASSERT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
    EXPECT_TRUE(r.tls->verified);
    EXPECT_EQ(r.tls->verified_chain.size(), 2u);
  }
  {
    Issued other = pki_->self_signed({"other CA", {}, {}, std::chrono::seconds(-3600),
                                      std::chrono::seconds(30 * 24 * 3600), true});
    SystemTrustStore store(hashed_ca_dir(pki_->dir(), "untrusted", other));
    auto r = probe(server, m);
    expect_failure(r, Stage::starttls, FailureReason::certificate_error);
    EXPECT_THAT(r.tls->verify_errors, ElementsAre("unknown_ca"));
  }
}

// A module's context is built by its first TLS probe (probes/tls.h): a CA
// file that looks like PEM but that OpenSSL cannot use fails that probe at
// the TLS stage with the setting named; --config.check (now = true) says it
// at load.
TEST_F(TlsProbe, AContextOpenSslRefusesFailsTheProbeThatBuildsIt) {
  std::filesystem::path bad = std::filesystem::path(pki_->dir()) / "broken-ca.pem";
  {
    std::FILE* f = std::fopen(bad.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n", f);
    std::fclose(f);
  }
  FakeSmtpServer server(starttls_server(identity(*valid_)));
  config::Module m = module(config::TlsMode::starttls);
  m.tls_config.ca_file = bad.string();
  auto r = probe(server, m);
  expect_failure(r, Stage::starttls, FailureReason::tls_error);
  EXPECT_THAT(r.failure->detail, HasSubstr("tls_config: ca_file \"" + bad.string() + "\""));
  EXPECT_THROW(probes::make_tls_context(m.tls_config, true), std::runtime_error);
  EXPECT_NO_THROW(probes::make_tls_context(m.tls_config));  // lazily: not yet
}

TEST_F(TlsProbe, ExpiringSoonIsReportedButVerifies) {
  Issued leaf = pki_->issue({kHost, {kHost}, {}, -1 * kDay, 3 * kDay}, pki_->root());
  FakeSmtpServer server(starttls_server(identity(leaf)));
  auto r = probe(server, module(config::TlsMode::starttls));
  ASSERT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_NEAR(*r.tls->leaf_days_to_expiry, 3.0, 0.01);
  EXPECT_NEAR(*r.tls->leaf_days_to_expiry, days_until(leaf.not_after_unix), 0.01);
}

TEST_F(TlsProbe, IntermediateExpiringBeforeTheLeafSetsTheEarliestExpiry) {
  Issued intermediate = pki_->issue({"smtp_exporter test intermediate", {}, {}, -1 * kDay, 2 * kDay, true},
                                    pki_->root());
  Issued leaf = pki_->issue({kHost, {kHost}, {}}, intermediate);
  FakeSmtpServer server(starttls_server(identity(leaf, {&intermediate})));
  auto r = probe(server, module(config::TlsMode::starttls));
  ASSERT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  ASSERT_EQ(r.tls->presented_chain.size(), 2u);
  std::string text = exporter::render_metrics(r);
  EXPECT_THAT(text, HasSubstr("\nprobe_ssl_earliest_cert_expiry " + std::to_string(intermediate.not_after_unix)));
  EXPECT_THAT(text, HasSubstr("\nprobe_ssl_last_chain_expiry_timestamp_seconds " +
                              std::to_string(intermediate.not_after_unix)));
  // Days to expiry is the leaf's.
  EXPECT_NEAR(*r.tls->leaf_days_to_expiry, days_until(leaf.not_after_unix), 0.01);
}

TEST_F(TlsProbe, InsecureSkipVerifyPassesAndStillReports) {
  Issued leaf = pki_->self_signed({kHost, {kHost}, {}});
  FakeSmtpServer server(starttls_server(identity(leaf)));
  auto m = module(config::TlsMode::starttls);
  m.tls_config.insecure_skip_verify = true;
  auto r = probe(server, m);
  EXPECT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_FALSE(r.tls->verified);
  EXPECT_THAT(r.tls->verify_errors, ElementsAre("self_signed"));
}

TEST_F(TlsProbe, ServerNameOverrideIsVerified) {
  FakeSmtpServer server(starttls_server(identity(*valid_)));
  auto m = module(config::TlsMode::starttls);
  m.tls_config.server_name.clear();  // an IP target is checked against the IP SAN
  auto r = probe(server, m);
  EXPECT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_EQ(r.tls->server_name, "127.0.0.1");

  probes::ProbeRequest request;
  request.host = "127.0.0.1";
  request.port = server.port();
  request.module = m;
  request.timeout = 5s;
  request.server_name = "wrong.example.test";  // &hostname=
  r = run_probe_sync(request);
  expect_failure(r, Stage::starttls, FailureReason::certificate_error);
  EXPECT_THAT(r.tls->verify_errors, ElementsAre("hostname_mismatch"));
}

TEST_F(TlsProbe, StartTlsNotOffered) {
  FakeSmtpServer server(polite_server("220 plain.test ESMTP\r\n", "250-plain.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n"));
  auto r = probe(server, module(config::TlsMode::starttls));
  expect_failure(r, Stage::starttls, FailureReason::not_offered);
  EXPECT_EQ(r.starttls_offered, false);
  EXPECT_EQ(r.auth_before_tls, true) << "AUTH offered on a plain-text connection";
  EXPECT_THAT(server.received(), ElementsAre("EHLO probe.test", "QUIT"));
  EXPECT_THAT(exporter::render_metrics(r), HasSubstr("\nprobe_smtp_auth_before_tls 1\n"));
}

TEST_F(TlsProbe, OpportunisticContinuesWithoutStartTls) {
  FakeSmtpServer server(polite_server());
  auto r = probe(server, module(config::TlsMode::opportunistic));
  EXPECT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_FALSE(r.tls_established);
  EXPECT_EQ(r.starttls_offered, false);
}

TEST_F(TlsProbe, OpportunisticUpgradesAndDoesNotFailOnVerification) {
  Issued leaf = pki_->self_signed({kHost, {kHost}, {}});
  FakeSmtpServer server(starttls_server(identity(leaf)));
  auto r = probe(server, module(config::TlsMode::opportunistic));
  EXPECT_TRUE(r.success) << (r.failure ? r.failure->detail : "");
  EXPECT_TRUE(r.tls_established);
  EXPECT_FALSE(r.tls->verified);
}

TEST_F(TlsProbe, StartTlsAnsweredWith454) {
  FakeSmtpServer server({send("220 ok\r\n"), expect("EHLO"), send("250-ok\r\n250 STARTTLS\r\n"), expect("STARTTLS"),
                         send("454 4.7.0 TLS not available due to temporary reason\r\n"), expect("QUIT"),
                         send("221 bye\r\n")});
  auto r = probe(server, module(config::TlsMode::starttls));
  expect_failure(r, Stage::starttls, FailureReason::unexpected_code);
  EXPECT_EQ(r.last_code, 454);
  EXPECT_FALSE(r.tls.has_value());
}

TEST_F(TlsProbe, HandshakeFailureAfterStartTls) {
  FakeSmtpServer server({send("220 ok\r\n"), expect("EHLO"), send("250-ok\r\n250 STARTTLS\r\n"), expect("STARTTLS"),
                         send("220 go ahead\r\n"), delay(50ms), send("this is not TLS\r\n"), hang_up()});
  auto r = probe(server, module(config::TlsMode::starttls));
  expect_failure(r, Stage::starttls, FailureReason::tls_error);
  EXPECT_FALSE(r.tls_established);
}

TEST_F(TlsProbe, ImplicitTlsAgainstAPlainServer) {
  FakeSmtpServer server(polite_server());
  auto r = probe(server, module(config::TlsMode::implicit));
  expect_failure(r, Stage::tls, FailureReason::tls_error);
}

TEST_F(TlsProbe, HandshakeStallIsBoundedByTheDeadline) {
  FakeSmtpServer server({send("220 ok\r\n"), expect("EHLO"), send("250-ok\r\n250 STARTTLS\r\n"), expect("STARTTLS"),
                         send("220 go ahead\r\n"), stall()});
  auto r = probe_port(server.port(), module(config::TlsMode::starttls), 300ms);
  expect_failure(r, Stage::starttls, FailureReason::timeout);
}

TEST_F(TlsProbe, DataInjectedAfterStartTlsReplyIsRejected) {
  // CVE-2011-0411: plaintext sent with the 220 must not be taken as TLS-protected.
  FakeSmtpServer server({send("220 ok\r\n"), expect("EHLO"), send("250-ok\r\n250 STARTTLS\r\n"), expect("STARTTLS"),
                         send("220 go ahead\r\n250 injected\r\n"), stall()});
  auto r = probe(server, module(config::TlsMode::starttls));
  expect_failure(r, Stage::starttls, FailureReason::protocol_error);
}

}  // namespace
}  // namespace smtp_exporter::testing
