// --web.config.file parsing (one bad file per error in tests/web-config/),
// [web] allowed_targets matching, and bcrypt through libxcrypt.
#include <crypt.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "bad_file.h"
#include "http/web_config.h"
#include "smtp_exporter/config.h"

namespace smtp_exporter::exporter {
namespace {

const std::string kDir = SMTP_EXPORTER_TEST_WEB_CONFIG_DIR;

using bad_files::BadFile;

std::string load_error(const std::string& path) {
  return bad_files::load_error<WebConfigError>([](const std::string& p) { load_web_config(p); }, path);
}

class InvalidWebConfig : public testing::TestWithParam<BadFile> {};

TEST_P(InvalidWebConfig, FailsWithLocatedMessage) {
  const std::string path = kDir + "/" + GetParam().file;
  EXPECT_EQ(load_error(path), path + ":" + GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Files, InvalidWebConfig,
    testing::Values(
        BadFile{"syntax-error.yml", "4:1: end of sequence flow not found"},
        BadFile{"not-a-mapping.yml", "1:1: expected a mapping"},
        BadFile{"unknown-top-level-key.yml", "4:1: basic_auth_user: unknown key"},
        BadFile{"unknown-tls-key.yml", "5:3: tls_server_config.ca_file: unknown key"},
        BadFile{"missing-cert-file.yml", "2:3: tls_server_config: cert_file (or cert) is required"},
        BadFile{"cert-file-missing.yml", "2:14: tls_server_config.cert_file: cannot read \"/nonexistent/server.pem\": "
                                         "No such file or directory"},
        BadFile{"invalid-client-auth-type.yml",
                "4:21: tls_server_config.client_auth_type: invalid value \"RequireClientCert\" (expected one of: "
                "NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
                "RequireAndVerifyClientCert)"},
        BadFile{"verify-without-client-ca.yml", "4:21: tls_server_config.client_auth_type: verifying client "
                                                "certificates needs client_ca_file (or client_ca)"},
        BadFile{"client-ca-without-client-auth.yml",
                "4:19: tls_server_config.client_ca_file: a client CA is configured but client_auth_type is "
                "NoClientCert (use RequireAndVerifyClientCert)"},
        BadFile{"invalid-min-version.yml", "4:16: tls_server_config.min_version: invalid value \"TLS1.2\" "
                                           "(expected one of: TLS10, TLS11, TLS12, TLS13)"},
        BadFile{"max-version-below-min.yml",
                "5:16: tls_server_config.max_version: must not be lower than min_version"},
        BadFile{"unknown-cipher-suite.yml",
                "6:7: tls_server_config.cipher_suites: unknown cipher suite \"TLS_RSA_WITH_NOTHING\""},
        BadFile{"tls13-cipher-suite.yml", "4:19: tls_server_config.cipher_suites: \"TLS_AES_128_GCM_SHA256\" is a "
                                          "TLS 1.3 suite; cipher_suites only applies to TLS 1.2 and below"},
        BadFile{"prefer-server-not-boolean.yml",
                "4:32: tls_server_config.prefer_server_cipher_suites: expected true or false"},
        BadFile{"client-allowed-sans.yml", "4:24: tls_server_config.client_allowed_sans: not supported by "
                                           "smtp_exporter (use a client CA of its own)"},
        BadFile{"http2.yml", "2:10: http_server_config.http2: HTTP/2 is not supported by smtp_exporter (remove "
                             "the key or set it to false)"},
        BadFile{"unknown-header.yml",
                "3:5: http_server_config.headers.X-Powered-By: this header cannot be set (allowed: "
                "Content-Security-Policy, Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, "
                "X-XSS-Protection)"},
        BadFile{"invalid-header-value.yml", "3:22: http_server_config.headers.X-Frame-Options: invalid value "
                                            "\"allow\" (expected one of: deny, sameorigin)"},
        BadFile{"password-not-bcrypt.yml",
                "2:10: basic_auth_users.alice: not a bcrypt hash (\"$2y$10$\" and 53 characters; generate one "
                "with htpasswd -nBC 10 \"\" | tr -d ':\\n')"},
        BadFile{"users-not-a-mapping.yml", "2:3: basic_auth_users: expected a mapping"},
        BadFile{"bcrypt-cost-too-high.yml",
                "2:10: basic_auth_users.alice: bcrypt cost 15 is above the maximum of 14 (every check would cost "
                "seconds of CPU; 10 is usual: htpasswd -nBC 10)"},
        BadFile{"rate-limit.yml",
                "2:3: rate_limit: not supported by smtp_exporter (limit requests in a reverse proxy)"}),
    [](const testing::TestParamInfo<BadFile>& info) {
      std::string name = info.param.file.substr(0, info.param.file.find('.'));
      for (char& c : name)
        if (c == '-') c = '_';
      return name;
    });

TEST(WebConfig, GoodFileWithEveryKey) {
  WebConfig web = load_web_config(kDir + "/good.yml");
  EXPECT_EQ(web.source, kDir + "/good.yml");
  ASSERT_TRUE(web.tls.has_value());
  const TlsServerConfig& tls = *web.tls;
  EXPECT_EQ(tls.cert_file, kDir + "/placeholder.pem");  // relative to the file's directory
  EXPECT_EQ(tls.key_file, kDir + "/placeholder.pem");
  EXPECT_EQ(tls.client_ca_file, kDir + "/placeholder.pem");
  EXPECT_EQ(tls.client_auth, ClientAuth::require_and_verify_client_cert);
  EXPECT_EQ(tls.min_version, config::TlsVersion::tls13);
  EXPECT_EQ(tls.max_version, config::TlsVersion::tls13);
  // Go (IANA) names become OpenSSL names; Go's short ChaCha20 alias too.
  EXPECT_EQ(tls.ciphers, (std::vector<std::string>{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305"}));
  EXPECT_FALSE(tls.prefer_server_cipher_suites);
  EXPECT_EQ(tls.groups, (std::vector<std::string>{"X25519", "P-256"}));
  // A blank header value means "unset".
  EXPECT_EQ(web.headers, (std::vector<std::pair<std::string, std::string>>{
                             {"X-Frame-Options", "deny"}, {"Strict-Transport-Security", "max-age=31536000"}}));
  ASSERT_EQ(web.users.size(), 2u);
  EXPECT_EQ(web.users.at("alice"), "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a");
}

TEST(WebConfig, EmptyFileMeansPlainHttpWithoutAuthentication) {
  WebConfig web = parse_web_config("", "empty.yml", "");
  EXPECT_FALSE(web.tls.has_value());
  EXPECT_TRUE(web.users.empty());
  EXPECT_TRUE(web.headers.empty());
  EXPECT_FALSE(parse_web_config("# nothing\n", "comment.yml", "").tls.has_value());
}

TEST(WebConfig, DefaultsAndInlinePem) {
  WebConfig web = parse_web_config("tls_server_config:\n  cert: PEM\n  key: KEY\n", "inline.yml", "");
  ASSERT_TRUE(web.tls.has_value());
  EXPECT_EQ(web.tls->cert, "PEM");
  EXPECT_EQ(web.tls->client_auth, ClientAuth::no_client_cert);
  EXPECT_EQ(web.tls->min_version, config::TlsVersion::tls12);  // exporter-toolkit's default
  EXPECT_EQ(web.tls->max_version, config::TlsVersion::tls13);
  EXPECT_TRUE(web.tls->prefer_server_cipher_suites);
  EXPECT_THROW(parse_web_config("tls_server_config:\n  cert: PEM\n  cert_file: /etc/hostname\n  key: K\n", "x", ""),
               WebConfigError);
}

TEST(WebConfig, MissingFile) {
  const std::string path = kDir + "/does-not-exist.yml";
  EXPECT_EQ(load_error(path), path + ": cannot open: No such file or directory");
}

TEST(WebConfig, TlsContextRejectsAFileThatIsNotPem) {
  WebConfig web = parse_web_config("tls_server_config:\n  cert_file: placeholder.pem\n  key_file: placeholder.pem\n",
                                   "x.yml", kDir);
  try {
    make_server_tls_context(*web.tls);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("tls_server_config: cannot load the certificate or key: ", 0), 0u)
        << e.what();
  }
}

// ---- [web] allowed_targets ----

config::WebSettings allow(std::initializer_list<const char*> entries) {
  config::WebSettings web;
  for (const char* e : entries) {
    std::string error;
    auto t = config::parse_allowed_target(e, error);
    EXPECT_TRUE(t.has_value()) << e << ": " << error;
    if (t) web.allowed_targets.push_back(*t);
  }
  return web;
}

TEST(AllowedTargets, EmptyListAllowsEverything) {
  EXPECT_TRUE(config::target_allowed({}, "anything.example"));
  EXPECT_TRUE(config::target_allowed({}, "10.0.0.1"));
}

TEST(AllowedTargets, NamesMatchExactlyOrBySuffixWildcard) {
  auto web = allow({"mail.example.com", "*.example.org", "MX.Example.NET."});
  EXPECT_TRUE(config::target_allowed(web, "mail.example.com"));
  EXPECT_TRUE(config::target_allowed(web, "MAIL.EXAMPLE.COM"));      // case-insensitive
  EXPECT_TRUE(config::target_allowed(web, "mail.example.com."));     // trailing dot
  EXPECT_FALSE(config::target_allowed(web, "smtp.example.com"));
  EXPECT_FALSE(config::target_allowed(web, "mail.example.com.evil"));
  EXPECT_FALSE(config::target_allowed(web, "xmail.example.com"));
  EXPECT_TRUE(config::target_allowed(web, "mx1.example.org"));
  EXPECT_TRUE(config::target_allowed(web, "a.b.example.org"));       // any depth
  EXPECT_FALSE(config::target_allowed(web, "example.org"));          // the wildcard needs a label
  EXPECT_FALSE(config::target_allowed(web, "badexample.org"));
  EXPECT_FALSE(config::target_allowed(web, "example.org.evil.test"));
  EXPECT_TRUE(config::target_allowed(web, "mx.example.net"));
}

TEST(AllowedTargets, AddressesMatchNetworksAndExactAddresses) {
  auto web = allow({"192.0.2.0/24", "2001:db8::/32", "127.0.0.1", "::1", "10.1.2.2/31", "0.0.0.0/0"});
  auto v6only = allow({"2001:db8::/32", "198.51.100.7"});
  EXPECT_TRUE(config::target_allowed(web, "192.0.2.0"));
  EXPECT_TRUE(config::target_allowed(web, "192.0.2.255"));
  EXPECT_TRUE(config::target_allowed(v6only, "2001:db8::25"));
  EXPECT_TRUE(config::target_allowed(v6only, "2001:DB8:ffff::1"));
  EXPECT_FALSE(config::target_allowed(v6only, "2001:db9::1"));
  EXPECT_TRUE(config::target_allowed(v6only, "198.51.100.7"));
  EXPECT_FALSE(config::target_allowed(v6only, "198.51.100.8"));
  EXPECT_FALSE(config::target_allowed(v6only, "::ffff:198.51.100.7"));  // another family
  auto narrow = allow({"192.0.2.0/25", "10.1.2.2/31", "::1"});
  EXPECT_TRUE(config::target_allowed(narrow, "192.0.2.127"));
  EXPECT_FALSE(config::target_allowed(narrow, "192.0.2.128"));
  EXPECT_TRUE(config::target_allowed(narrow, "10.1.2.3"));
  EXPECT_FALSE(config::target_allowed(narrow, "10.1.2.4"));
  EXPECT_TRUE(config::target_allowed(narrow, "::1"));
  EXPECT_FALSE(config::target_allowed(narrow, "::2"));
  EXPECT_TRUE(config::target_allowed(web, "8.8.8.8"));  // 0.0.0.0/0
}

TEST(AllowedTargets, NamesAndAddressesNeverMatchEachOther) {
  auto web = allow({"127.0.0.0/8", "*.example.org"});
  EXPECT_FALSE(config::target_allowed(web, "localhost"));  // not resolved: a name needs a name entry
  EXPECT_FALSE(config::target_allowed(web, "127.example.org.test"));
  auto names = allow({"*.example.org"});
  EXPECT_FALSE(config::target_allowed(names, "192.0.2.1"));
}

TEST(AllowedTargets, InvalidEntries) {
  std::string error;
  for (const char* bad : {"", "192.0.2.0/", "192.0.2.0/-1", "192.0.2.0/x", "300.1.1.1/8", "*", "*.", "mail_.ex ample",
                          "mail.example.com:25", "[::1]", "*.a.*.b", "a..b", "2001:db8::1/64"}) {
    error.clear();
    EXPECT_FALSE(config::parse_allowed_target(bad, error).has_value()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

// ---- bcrypt (libxcrypt) ----

std::string bcrypt_hash(const std::string& password, unsigned long cost) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", cost, nullptr, 0, setting, sizeof setting) == nullptr) return "";
  auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_rn(password.c_str(), setting, data.get(), sizeof *data);
  return hash ? hash : "";
}

std::string basic(const std::string& credentials) {
  std::string out(4 * ((credentials.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(credentials.data()), static_cast<int>(credentials.size()));
  out.resize(static_cast<std::size_t>(n));
  return "Basic " + out;
}

TEST(Bcrypt, HashGeneratedAtTestTime) {
  const std::string hash = bcrypt_hash("correct horse", 4);
  ASSERT_EQ(hash.rfind("$2b$04$", 0), 0u) << hash;
  EXPECT_TRUE(valid_bcrypt_hash(hash));
  EXPECT_TRUE(bcrypt_matches("correct horse", hash));
  EXPECT_FALSE(bcrypt_matches("correct horsE", hash));
  EXPECT_FALSE(bcrypt_matches("", hash));
  std::string tampered = hash;
  tampered.back() = tampered.back() == 'a' ? 'b' : 'a';
  EXPECT_FALSE(bcrypt_matches("correct horse", tampered));
}

TEST(Bcrypt, KnownDollar2yHash) {
  // The example of PHP's password_verify() manual page (cost 10).
  const std::string hash = "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a";
  EXPECT_TRUE(bcrypt_matches("rasmuslerdorf", hash));
  EXPECT_FALSE(bcrypt_matches("rasmuslerdorF", hash));
}

TEST(Bcrypt, HashFormat) {
  EXPECT_TRUE(valid_bcrypt_hash("$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"));
  EXPECT_FALSE(valid_bcrypt_hash("$2y$10$short"));
  EXPECT_FALSE(valid_bcrypt_hash("$2y$03$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"));  // cost < 4
  EXPECT_FALSE(valid_bcrypt_hash("$2x$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"));
  EXPECT_FALSE(valid_bcrypt_hash("$6$saltsalt$0123456789012345678901234567890123456789012345678"));
  EXPECT_FALSE(valid_bcrypt_hash("plain text password"));
}

TEST(BasicAuthTest, RightWrongAndMissingCredentials) {
  BasicAuth auth({{"alice", bcrypt_hash("s3cret:with:colons", 4)}, {"bob", bcrypt_hash("other", 4)}});
  EXPECT_FALSE(auth.authorize(""));
  EXPECT_FALSE(auth.authorize("Bearer abc"));
  EXPECT_FALSE(auth.authorize("Basic !!!"));
  EXPECT_FALSE(auth.authorize(basic("alice")));  // no colon
  EXPECT_FALSE(auth.authorize(basic("alice:wrong")));
  EXPECT_FALSE(auth.authorize(basic("carol:s3cret:with:colons")));  // unknown user
  EXPECT_FALSE(auth.authorize(basic("bob:s3cret:with:colons")));    // another user's password
  EXPECT_EQ(auth.cached(), 0u) << "failures are not cached";
  EXPECT_TRUE(auth.authorize(basic("alice:s3cret:with:colons")));
  EXPECT_TRUE(auth.authorize("basic  " + basic("alice:s3cret:with:colons").substr(6)));  // scheme case, spaces
  EXPECT_TRUE(auth.authorize(basic("bob:other")));
  EXPECT_EQ(auth.cached(), 2u);
}

TEST(BasicAuthTest, SuccessIsCachedSoBcryptRunsOnce) {
  BasicAuth auth({{"alice", bcrypt_hash("pw", 12)}});  // ~250 ms per bcrypt
  auto timed = [&](const std::string& header) {
    auto start = std::chrono::steady_clock::now();
    bool ok = auth.authorize(header);
    return std::pair{ok, std::chrono::steady_clock::now() - start};
  };
  auto [first_ok, first] = timed(basic("alice:pw"));
  auto [second_ok, second] = timed(basic("alice:pw"));
  EXPECT_TRUE(first_ok);
  EXPECT_TRUE(second_ok);
  EXPECT_GT(first, std::chrono::milliseconds(20));
  EXPECT_LT(second, std::chrono::milliseconds(5)) << "the second request must not run bcrypt";
  EXPECT_LT(second * 10, first);
}

// BasicAuth::check as App runs it: on an io_context, bcrypt on a pool.
struct Checker {
  explicit Checker(BasicAuth& a) : auth(a) {}
  BasicAuth& auth;
  boost::asio::io_context io;
  boost::asio::thread_pool pool{1};

  BasicAuth::Verdict operator()(const std::string& header, const std::string& source) {
    auto future = boost::asio::co_spawn(io, auth.check(header, source, pool.get_executor()), boost::asio::use_future);
    io.restart();
    io.run();
    return future.get();
  }
};

TEST(BasicAuthCheck, WrongPasswordsAreCachedAndBoundedPerSource) {
  BasicAuth auth({{"alice", bcrypt_hash("pw", 4)}});
  Checker check(auth);
  using V = BasicAuth::Verdict;
  EXPECT_EQ(check(basic("alice:pw"), "192.0.2.1"), V::allowed);
  EXPECT_EQ(check("", "192.0.2.1"), V::denied);
  // The same wrong password again is answered from the cache: no bcrypt, no budget spent.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(check(basic("alice:same-wrong"), "192.0.2.1"), V::denied);
  EXPECT_EQ(auth.bcrypt_runs(), 2u);
  EXPECT_EQ(auth.rejected(), 1u);
  // New wrong passwords: the source's burst, then throttled without bcrypt.
  for (int i = 1; i < BasicAuth::kFailureBurst; ++i)
    EXPECT_EQ(check(basic("alice:wrong" + std::to_string(i)), "192.0.2.1"), V::denied) << i;
  EXPECT_EQ(check(basic("alice:wrong-again"), "192.0.2.1"), V::throttled);
  EXPECT_EQ(auth.bcrypt_runs(), 1u + BasicAuth::kFailureBurst);
  // Known credentials and other sources are not held back.
  EXPECT_EQ(check(basic("alice:pw"), "192.0.2.1"), V::allowed);
  EXPECT_EQ(check(basic("alice:wrong-elsewhere"), "192.0.2.2"), V::denied);
  EXPECT_EQ(check(basic("nobody:pw"), "192.0.2.2"), V::denied);
  EXPECT_EQ(auth.cached(), 1u);
}

TEST(BasicAuthCheck, UnknownUserCostsTheCostliestHash) {
  // alice's hash is cheap (cost 4), bob's expensive (cost 12, ~250 ms): an
  // unknown user must cost bob's, so its timing tells nothing.
  BasicAuth auth({{"alice", bcrypt_hash("a", 4)}, {"bob", bcrypt_hash("b", 12)}});
  auto timed = [&](const std::string& header) {
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(auth.authorize(header));
    return std::chrono::steady_clock::now() - start;
  };
  auto cheap = timed(basic("alice:wrong"));
  auto unknown = timed(basic("aaron:wrong"));  // sorts before alice: the first user's hash no longer decides
  EXPECT_GT(unknown, cheap * 10);
}

}  // namespace
}  // namespace smtp_exporter::exporter
