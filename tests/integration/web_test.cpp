// The secured web endpoint, in process: HTTPS with and without client
// certificates (test PKI made at run time), basic authentication, extra
// headers, and [web] allowed_targets (including a reload).
#include <crypt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <fstream>
#include <thread>

#include "fake_smtp_server.h"
#include "http/web_config.h"
#include "probe_helpers.h"
#include "smtp_exporter/app.h"
#include "smtp_exporter/http_server.h"
#include "test_pki.h"

namespace smtp_exporter::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;

struct Response {
  int status = 0;  // 0: no HTTP answer (handshake or connection failed)
  std::string headers;
  std::string body;
  std::string error;
};

Response parse(const std::string& data) {
  Response r;
  if (!data.starts_with("HTTP/1.1 ") || data.size() < 12) {
    r.error = "no HTTP answer (" + std::to_string(data.size()) + " bytes)";
    return r;
  }
  auto split = data.find("\r\n\r\n");
  r.headers = data.substr(0, split);
  r.body = split == std::string::npos ? "" : data.substr(split + 4);
  r.status = std::stoi(data.substr(9, 3));
  return r;
}

std::string http_request(const std::string& target, const std::string& extra_headers, const std::string& method) {
  return method + " " + target + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n" + extra_headers + "\r\n";
}

// The exporter on 127.0.0.1:<free port> with a web configuration, served
// by a background thread.
class SecureExporter {
 public:
  SecureExporter(config::Config config, std::shared_ptr<const exporter::WebConfig> web,
                 const std::string& config_file = "")
      : app_(std::move(config), options(web, config_file)), server_(io_, app_, web) {
    server_.listen("127.0.0.1:0");
    thread_ = std::thread([this] { io_.run(); });
  }
  ~SecureExporter() {
    server_.stop();
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return server_.ports().at(0); }

  Response get(const std::string& target, const std::string& extra_headers = "", const std::string& method = "GET") {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port()});
    asio::write(socket, asio::buffer(http_request(target, extra_headers, method)));
    std::string data;
    boost::system::error_code ec;
    asio::read(socket, asio::dynamic_buffer(data), ec);
    return parse(data);
  }

  Response get_tls(ssl::context& client, const std::string& target, const std::string& extra_headers = "") {
    asio::io_context io;
    ssl::stream<tcp::socket> stream(io, client);
    stream.next_layer().connect({asio::ip::make_address("127.0.0.1"), port()});
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(stream.native_handle()), "127.0.0.1");
    boost::system::error_code ec;
    stream.handshake(ssl::stream_base::client, ec);
    if (ec) return Response{0, "", "", "handshake: " + ec.message()};
    asio::write(stream, asio::buffer(http_request(target, extra_headers, "GET")), ec);
    std::string data;
    asio::read(stream, asio::dynamic_buffer(data), ec);  // to the end (or the server's alert)
    Response r = parse(data);
    if (r.status == 0) r.error += ": " + ec.message();
    return r;
  }

 private:
  static exporter::AppOptions options(const std::shared_ptr<const exporter::WebConfig>& web,
                                      const std::string& config_file) {
    exporter::AppOptions o;
    o.config_file = config_file;
    if (web && !web->users.empty()) o.basic_auth = std::make_shared<exporter::BasicAuth>(web->users);
    return o;
  }

  asio::io_context io_;
  exporter::App app_;
  exporter::HttpServer server_;
  std::thread thread_;
};

config::Config test_config() {
  config::Config c = config::default_config();
  c.modules["smtp_banner"] = test_module();
  return c;
}

std::shared_ptr<const exporter::WebConfig> web_config(const std::string& yaml) {
  return std::make_shared<const exporter::WebConfig>(exporter::parse_web_config(yaml, "web.yml", ""));
}

CertSpec spec(const std::string& common_name, bool client_auth = false, bool is_ca = false) {
  CertSpec s;
  s.common_name = common_name;
  s.client_auth = client_auth;
  s.is_ca = is_ca;
  if (common_name == "smtp_exporter") s.dns_names = {"localhost"}, s.ip_addresses = {"127.0.0.1"};
  return s;
}

// A PKI with a server certificate for 127.0.0.1 and client certificates.
struct Pki {
  TestPki pki;
  Issued server = pki.issue(spec("smtp_exporter"), pki.root());
  Issued client = pki.issue(spec("prometheus", true), pki.root());
  // Signed by a CA the exporter does not trust.
  Issued stranger_ca = pki.self_signed(spec("other CA", false, true));
  Issued stranger = pki.issue(spec("stranger", true), stranger_ca);
  // Signed by the right CA, but a server certificate (no clientAuth usage).
  Issued server_only = pki.issue(spec("not a client"), pki.root());

  std::string tls_yaml(const std::string& client_auth_type) const {
    std::string yaml = "tls_server_config:\n  cert_file: " + server.cert_file + "\n  key_file: " + server.key_file + "\n";
    if (client_auth_type != "NoClientCert")
      yaml += "  client_auth_type: " + client_auth_type + "\n  client_ca_file: " + pki.root().cert_file + "\n";
    return yaml;
  }
  // A client that trusts the test CA and checks the server's certificate.
  std::unique_ptr<ssl::context> client_context(const Issued* identity = nullptr) const {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    ctx->load_verify_file(pki.root().cert_file);
    ctx->set_verify_mode(ssl::verify_peer);
    if (identity) {
      ctx->use_certificate_chain_file(identity->cert_file);
      ctx->use_private_key_file(identity->key_file, ssl::context::pem);
    }
    return ctx;
  }
};

TEST(WebTls, ServesHttpsWithTheConfiguredCertificate) {
  Pki pki;
  SecureExporter e(test_config(), web_config(pki.tls_yaml("NoClientCert")));
  auto client = pki.client_context();
  auto r = e.get_tls(*client, "/-/healthy");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "OK\n");
  // Plain HTTP on the HTTPS port gets no HTTP answer, and the server goes on.
  EXPECT_EQ(e.get("/-/healthy").status, 0);
  EXPECT_EQ(e.get_tls(*client, "/-/healthy").status, 200);
  // A client that does not trust the exporter's CA gives up.
  ssl::context untrusting(ssl::context::tls_client);
  untrusting.set_verify_mode(ssl::verify_peer);
  EXPECT_EQ(e.get_tls(untrusting, "/-/healthy").status, 0);
}

TEST(WebTls, RequireAndVerifyClientCert) {
  Pki pki;
  SecureExporter e(test_config(), web_config(pki.tls_yaml("RequireAndVerifyClientCert")));
  auto with_cert = pki.client_context(&pki.client);
  auto r = e.get_tls(*with_cert, "/metrics");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_THAT(r.body, HasSubstr("smtp_exporter_build_info{"));

  auto without_cert = pki.client_context();
  r = e.get_tls(*without_cert, "/metrics");
  EXPECT_EQ(r.status, 0) << "no client certificate must be refused";

  auto stranger = pki.client_context(&pki.stranger);
  EXPECT_EQ(e.get_tls(*stranger, "/metrics").status, 0) << "a client certificate of an unknown CA must be refused";

  auto server_only = pki.client_context(&pki.server_only);
  EXPECT_EQ(e.get_tls(*server_only, "/metrics").status, 0) << "a certificate without clientAuth must be refused";

  EXPECT_EQ(e.get_tls(*with_cert, "/-/healthy").status, 200) << "failed handshakes leave the server working";
}

TEST(WebTls, VerifyClientCertIfGivenAndRequireAny) {
  Pki pki;
  {
    SecureExporter e(test_config(), web_config(pki.tls_yaml("VerifyClientCertIfGiven")));
    auto without_cert = pki.client_context();
    auto stranger = pki.client_context(&pki.stranger);
    EXPECT_EQ(e.get_tls(*without_cert, "/-/healthy").status, 200);
    EXPECT_EQ(e.get_tls(*stranger, "/-/healthy").status, 0);
  }
  {
    // Required, but not verified (Go's RequireAnyClientCert).
    std::string yaml = "tls_server_config:\n  cert_file: " + pki.server.cert_file +
                       "\n  key_file: " + pki.server.key_file + "\n  client_auth_type: RequireAnyClientCert\n";
    SecureExporter e(test_config(), web_config(yaml));
    auto without_cert = pki.client_context();
    auto stranger = pki.client_context(&pki.stranger);
    EXPECT_EQ(e.get_tls(*without_cert, "/-/healthy").status, 0);
    EXPECT_EQ(e.get_tls(*stranger, "/-/healthy").status, 200);
  }
}

TEST(WebTls, MinimumVersion) {
  Pki pki;
  SecureExporter e(test_config(), web_config(pki.tls_yaml("NoClientCert") + "  min_version: TLS13\n"));
  auto tls12 = pki.client_context();
  SSL_CTX_set_max_proto_version(tls12->native_handle(), TLS1_2_VERSION);
  EXPECT_EQ(e.get_tls(*tls12, "/-/healthy").status, 0);
  auto tls13 = pki.client_context();
  EXPECT_EQ(e.get_tls(*tls13, "/-/healthy").status, 200);
}

std::string bcrypt_hash(const std::string& password, unsigned long cost = 4) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", cost, nullptr, 0, setting, sizeof setting) == nullptr) return "";
  auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_rn(password.c_str(), setting, data.get(), sizeof *data);
  return hash ? hash : "";
}

std::string authorization(const std::string& user, const std::string& password) {
  std::string credentials = user + ":" + password;
  std::string out(4 * ((credentials.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(credentials.data()), static_cast<int>(credentials.size()));
  out.resize(static_cast<std::size_t>(n));
  return "Authorization: Basic " + out + "\r\n";
}

TEST(WebBasicAuth, RightWrongAndMissingCredentials) {
  auto web = web_config("basic_auth_users:\n  prometheus: " + bcrypt_hash("scrape-me") +
                        "\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n");
  SecureExporter e(test_config(), web);
  auto ok = e.get("/metrics", authorization("prometheus", "scrape-me"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_THAT(ok.headers, HasSubstr("X-Content-Type-Options: nosniff"));
  EXPECT_THAT(ok.headers, Not(HasSubstr("WWW-Authenticate")));

  for (const auto& headers : {std::string(), authorization("prometheus", "wrong"), authorization("nobody", "scrape-me"),
                              std::string("Authorization: Bearer scrape-me\r\n")}) {
    auto denied = e.get("/metrics", headers);
    EXPECT_EQ(denied.status, 401) << headers;
    EXPECT_THAT(denied.headers, HasSubstr("WWW-Authenticate: Basic realm=\"smtp_exporter\"")) << headers;
    EXPECT_THAT(denied.headers, HasSubstr("X-Content-Type-Options: nosniff"));
    EXPECT_THAT(denied.body, Not(HasSubstr("smtp_exporter_build_info")));
  }
  // Every route is protected, as with exporter-toolkit; reload too.
  for (const char* path : {"/-/healthy", "/probe?target=127.0.0.1:1", "/", "/config", "/healthz", "/nope"})
    EXPECT_EQ(e.get(path).status, 401) << path;
  EXPECT_EQ(e.get("/-/reload", "", "POST").status, 401);
  EXPECT_EQ(e.get("/-/healthy", authorization("prometheus", "scrape-me")).status, 200);

  // The refusals are counted by the HTTP request metric.
  auto metrics = e.get("/metrics", authorization("prometheus", "scrape-me"));
  EXPECT_THAT(metrics.body, HasSubstr("smtp_exporter_http_requests_total{code=\"401\",handler=\"/metrics\"} 4"));
}

TEST(WebBasicAuth, OverHttps) {
  Pki pki;
  SecureExporter e(test_config(),
                   web_config(pki.tls_yaml("NoClientCert") + "basic_auth_users:\n  p: " + bcrypt_hash("pw") + "\n"));
  auto client = pki.client_context();
  EXPECT_EQ(e.get_tls(*client, "/-/healthy").status, 401);
  EXPECT_EQ(e.get_tls(*client, "/-/healthy", authorization("p", "pw")).status, 200);
}

double banner_latency(const Response& r) {
  auto at = r.body.find("\nprobe_smtp_banner_latency_seconds ");
  if (at == std::string::npos) return -1;
  return std::stod(r.body.substr(at + std::strlen("\nprobe_smtp_banner_latency_seconds ")));
}

// Wrong passwords arriving as fast as three clients can send them must not
// slow the event loop: bcrypt runs on a worker, repeated or excess attempts
// are refused without it, and a concurrent probe's banner latency (measured
// on the loop) stays what it is without the flood. Before, each wrong
// password held the loop for one bcrypt: about 60 ms at cost 10.
TEST(WebBasicAuth, WrongPasswordFloodDoesNotDelayProbesOrFalsifyTheirTiming) {
  FakeSmtpServer smtp(polite_server());
  SecureExporter e(test_config(), web_config("basic_auth_users:\n  prometheus: " + bcrypt_hash("scrape-me", 10) + "\n"));
  const std::string probe = "/probe?module=smtp_banner&target=127.0.0.1:" + std::to_string(smtp.port());
  const std::string right = authorization("prometheus", "scrape-me");
  ASSERT_EQ(e.get(probe, right).status, 200);  // the right credentials are verified once, then cached
  auto median_latency = [&] {
    std::vector<double> seconds;
    for (int i = 0; i < 15; ++i) {
      auto r = e.get(probe, right);
      EXPECT_EQ(r.status, 200);
      seconds.push_back(banner_latency(r));
    }
    std::sort(seconds.begin(), seconds.end());
    return seconds[seconds.size() / 2];
  };
  const double quiet = median_latency();

  std::atomic<bool> stop{false};
  std::atomic<int> sent{0}, throttled{0}, other{0};
  std::vector<std::thread> flood;
  for (int t = 0; t < 3; ++t)
    flood.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        auto r = e.get("/-/healthy", authorization("prometheus", "wrong-" + std::to_string(t) + "-" + std::to_string(i)));
        ++sent;
        if (r.status == 429) ++throttled;
        else if (r.status != 401) ++other;
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const double loaded = median_latency();
  stop = true;
  for (auto& t : flood) t.join();

  std::cout << "banner latency median: " << quiet * 1000 << " ms quiet, " << loaded * 1000 << " ms under "
            << sent.load() << " wrong passwords (" << throttled.load() << " throttled)\n";
  EXPECT_GT(sent.load(), 30);
  EXPECT_GT(throttled.load(), 0) << "distinct wrong passwords from one source are throttled";
  EXPECT_EQ(other.load(), 0);
  EXPECT_GE(quiet, 0);
  EXPECT_LT(loaded, quiet + 0.020) << "banner latency: " << quiet * 1000 << " ms quiet, " << loaded * 1000
                                   << " ms under " << sent.load() << " wrong passwords";
}

// A slow bcrypt (an uncached right password at cost 13, about half a second)
// does not hold up a request with cached credentials meanwhile.
TEST(WebBasicAuth, SlowVerificationRunsBesideOtherRequests) {
  SecureExporter e(test_config(), web_config("basic_auth_users:\n  prometheus: " + bcrypt_hash("scrape-me", 4) +
                                             "\n  slow: " + bcrypt_hash("patience", 13) + "\n"));
  const std::string right = authorization("prometheus", "scrape-me");
  ASSERT_EQ(e.get("/-/healthy", right).status, 200);
  std::atomic<bool> slow_done{false};
  std::thread slow([&] {
    EXPECT_EQ(e.get("/-/healthy", authorization("slow", "patience")).status, 200);
    slow_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(e.get("/metrics", right).status, 200);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(slow_done.load()) << "the slow verification should still be running";
  EXPECT_LT(took, std::chrono::milliseconds(150));
  slow.join();
}

// ---- [web] allowed_targets ----

std::string probe_path(const std::string& target) { return "/probe?module=smtp_banner&target=" + target; }

config::Config allowed_config(const std::string& list) {
  config::Config c = config::load_string("[web]\nallowed_targets = " + list + "\n[modules.smtp_banner]\n", "web.toml");
  c.modules["smtp_banner"] = test_module();
  return c;
}

TEST(WebAllowedTargets, AllowedTargetIsProbedOthersGetForbidden) {
  FakeSmtpServer smtp(polite_server());
  const std::string port = std::to_string(smtp.port());
  SecureExporter e(allowed_config(R"(["127.0.0.0/30", "*.example.org"])"), nullptr);

  auto allowed = e.get(probe_path("127.0.0.1:" + port));
  EXPECT_EQ(allowed.status, 200);
  EXPECT_THAT(allowed.body, HasSubstr("\nprobe_success 1\n"));

  for (const std::string& target :
       std::vector<std::string>{"127.0.0.4:" + port, "localhost:" + port, "mx:example.com", "example.org"}) {
    auto denied = e.get(probe_path(target));
    EXPECT_EQ(denied.status, 403) << target;
    EXPECT_EQ(denied.body, "target \"" + target + "\" is not allowed by [web] allowed_targets\n");
  }
  // An invalid target is still a 400, not a 403.
  EXPECT_EQ(e.get(probe_path("a:b:c")).status, 400);
  // The mail domain of an mx: target is matched by name: allowed, so it is
  // probed (and fails to resolve, within the 0.5 s the header leaves).
  auto mx = e.get(probe_path("mx:nonexistent.example.org"), "X-Prometheus-Scrape-Timeout-Seconds: 1\r\n");
  EXPECT_EQ(mx.status, 200);
  EXPECT_THAT(mx.body, HasSubstr("\nprobe_success 0\n"));
  EXPECT_EQ(smtp.connections(), 1) << "only the allowed probe reached the server";

  auto metrics = e.get("/metrics");
  EXPECT_THAT(metrics.body, HasSubstr("smtp_exporter_http_requests_total{code=\"403\",handler=\"/probe\"} 4"));
  auto config = e.get("/config");
  EXPECT_THAT(config.body, HasSubstr("[web]\nallowed_targets = [ '127.0.0.0/30', '*.example.org' ]"));
}

TEST(WebAllowedTargets, ReloadPicksUpANewList) {
  FakeSmtpServer smtp(polite_server());
  const std::string target = "127.0.0.1:" + std::to_string(smtp.port());
  const std::string file = (std::filesystem::temp_directory_path() /
                            ("smtp_exporter_web_" + std::to_string(::getpid()) + ".toml"))
                               .string();
  auto write = [&](const std::string& list) {
    std::ofstream(file) << "[web]\nallowed_targets = " << list
                        << "\n[modules.smtp_banner]\nehlo_name = \"probe.test\"\nip_protocol = \"ip4\"\n";
  };
  write(R"(["127.0.0.1"])");
  SecureExporter e(config::load_file(file), nullptr, file);
  EXPECT_EQ(e.get(probe_path(target)).status, 200);
  write(R"(["192.0.2.0/24"])");
  EXPECT_EQ(e.get("/-/reload", "", "POST").status, 200);
  EXPECT_EQ(e.get(probe_path(target)).status, 403);
  write("[]");  // empty: everything allowed again
  EXPECT_EQ(e.get("/-/reload", "", "POST").status, 200);
  EXPECT_EQ(e.get(probe_path(target)).status, 200);
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace smtp_exporter::testing
