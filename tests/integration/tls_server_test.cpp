// The test PKI and the TLS steps of the fake SMTP server, checked with a
// plain OpenSSL client (Asio ssl::stream, every operation bounded in time),
// independent of the probe.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <time.h>  // timegm

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>

#include "fake_smtp_server.h"
#include "test_pki.h"

namespace smtp_exporter::testing {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::chrono::days kDay{1};

// --- what a client computes from a certificate -------------------------------

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string sha256_fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha256(), md, &n) != 1) throw std::runtime_error("X509_digest");
  std::string out;
  char hex[3];
  for (unsigned i = 0; i < n; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", md[i]);
    out += hex;
  }
  return out;
}

std::string serial_hex(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* text = BN_bn2hex(bn);
  std::string out = lower(text);
  OPENSSL_free(text);
  BN_free(bn);
  return out;
}

std::string rfc2253(const X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::int64_t unix_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) throw std::runtime_error("ASN1_TIME_to_tm");
  return timegm(&tm);
}

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Parses a PEM certificate (e.g. Issued::cert_pem).
struct ParsedCert {
  explicit ParsedCert(const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (cert == nullptr) throw std::runtime_error("PEM_read_bio_X509");
  }
  ~ParsedCert() { X509_free(cert); }
  ParsedCert(const ParsedCert&) = delete;
  ParsedCert& operator=(const ParsedCert&) = delete;
  X509* cert = nullptr;
};

// --- a blocking SMTP client with optional TLS ---------------------------------

struct ClientTls {
  bool verify_peer = true;       // SSL_VERIFY_PEER (abort on failure) or SSL_VERIFY_NONE
  std::string ca_file;           // trusted roots; empty: none
  std::string host;              // SSL_set1_host (+ SNI for names); empty: no host name check
};

class Client {
 public:
  explicit Client(std::uint16_t port) {
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    check(run([&](auto handler) { socket_.async_connect(endpoint, handler); }), "connect");
  }

  // One complete (possibly multi-line) reply, CR LF included.
  std::string read_reply() {
    std::string reply;
    while (true) {
      std::size_t n = 0;
      auto handler_n = [&](auto handler) {
        if (tls_)
          asio::async_read_until(*tls_, input_, "\n", handler);
        else
          asio::async_read_until(socket_, input_, "\n", handler);
      };
      check(run(handler_n, &n), "read");
      std::string line(asio::buffers_begin(input_.data()), asio::buffers_begin(input_.data()) + n);
      input_.consume(n);
      reply += line;
      if (line.size() < 4 || line[3] != '-') return reply;
    }
  }

  void write(const std::string& text) {
    check(run([&](auto handler) {
            if (tls_)
              asio::async_write(*tls_, asio::buffer(text), handler);
            else
              asio::async_write(socket_, asio::buffer(text), handler);
          }),
          "write");
  }

  // Reads until the server ends the connection: eof after a TLS
  // close_notify or a plain close, ssl::error::stream_truncated for a TLS
  // connection closed without close_notify.
  boost::system::error_code read_end() {
    char sink[512];
    std::size_t n = 0;
    boost::system::error_code ec;
    while (!ec) {
      ec = run(
          [&](auto handler) {
            if (tls_)
              tls_->async_read_some(asio::buffer(sink), handler);
            else
              socket_.async_read_some(asio::buffer(sink), handler);
          },
          &n);
    }
    return ec;
  }

  std::string command(const std::string& line) {
    write(line + "\r\n");
    return read_reply();
  }

  // The handshake's outcome (an error when the client aborted it).
  boost::system::error_code start_tls(const ClientTls& options) {
    if (input_.size() != 0) throw std::logic_error("unread bytes before the TLS handshake");
    context_.emplace(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(context_->native_handle(), TLS1_2_VERSION);
    if (!options.ca_file.empty()) context_->load_verify_file(options.ca_file);
    context_->set_verify_mode(options.verify_peer ? ssl::verify_peer : ssl::verify_none);
    tls_.emplace(socket_, *context_);
    if (!options.host.empty()) {
      SSL_set1_host(tls_->native_handle(), options.host.c_str());  // OpenSSL 3: an IP literal checks IP SANs
      boost::system::error_code not_ip;
      asio::ip::make_address(options.host, not_ip);
      if (not_ip) SSL_set_tlsext_host_name(tls_->native_handle(), options.host.c_str());  // SNI: names only
    }
    return run([&](auto handler) { tls_->async_handshake(ssl::stream_base::client, handler); });
  }

  SSL* ssl_handle() { return tls_->native_handle(); }
  long verify_result() { return SSL_get_verify_result(ssl_handle()); }

 private:
  // Runs one asynchronous operation to completion or for at most 5 s.
  template <class Start>
  boost::system::error_code run(Start start, std::size_t* bytes = nullptr) {
    bool done = false;
    boost::system::error_code result;
    start([&](boost::system::error_code ec, auto... n) {
      result = ec;
      if (bytes != nullptr) ((*bytes = n), ...);
      done = true;
    });
    io_.restart();
    io_.run_for(5s);
    if (!done) {
      socket_.close();
      io_.restart();
      io_.run();
      throw std::runtime_error("client: timed out");
    }
    return result;
  }

  static void check(const boost::system::error_code& ec, const char* what) {
    if (ec) throw std::runtime_error(std::string("client: ") + what + ": " + ec.message());
  }

  asio::io_context io_;
  tcp::socket socket_{io_};
  asio::streambuf input_;
  std::optional<ssl::context> context_;
  std::optional<ssl::stream<tcp::socket&>> tls_;  // after socket_: destroyed first
};

const std::string kEhloBefore = "250-fake.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n";
const std::string kEhloAfter = "250-fake.test\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n";

CertSpec mail_leaf(std::chrono::seconds not_after = std::chrono::seconds(30 * kDay)) {
  CertSpec spec;
  spec.common_name = "mail.example.test";
  spec.dns_names = {"mail.example.test"};
  spec.ip_addresses = {"127.0.0.1"};
  spec.not_after = not_after;
  return spec;
}

// --- the PKI on its own ------------------------------------------------------

TEST(TlsServerPki, RootIsASelfSignedCa) {
  TestPki pki;
  const Issued& root = pki.root();
  EXPECT_EQ(root.subject, "CN=smtp_exporter test CA");
  EXPECT_EQ(root.issuer, root.subject);
  EXPECT_TRUE(std::filesystem::exists(root.cert_file));
  EXPECT_TRUE(std::filesystem::exists(root.key_file));
  EXPECT_EQ(root.cert_file.rfind(pki.dir(), 0), 0u);

  ParsedCert parsed(root.cert_pem);
  EXPECT_EQ(X509_get_version(parsed.cert), X509_VERSION_3);
  EXPECT_EQ(X509_check_ca(parsed.cert), 1);
  EXPECT_EQ(X509_get_signature_nid(parsed.cert), NID_ecdsa_with_SHA256);
  EXPECT_NE(X509_get0_subject_key_id(parsed.cert), nullptr);
  EXPECT_EQ(X509_check_issued(parsed.cert, parsed.cert), X509_V_OK);  // names, AKI = SKI, keyCertSign
  EXPECT_EQ(X509_get_key_usage(parsed.cert), static_cast<std::uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  // At least 64 random bits: 16 bytes with the top bit clear and the next set.
  EXPECT_EQ(root.serial_hex.size(), 32u);
  EXPECT_EQ(root.serial_hex, serial_hex(parsed.cert));
}

TEST(TlsServerPki, LeafExtensionsAndUniqueSerials) {
  TestPki pki;
  CertSpec spec = mail_leaf();
  spec.ip_addresses.push_back("::1");
  Issued leaf = pki.issue(spec, pki.root());
  Issued again = pki.issue(spec, pki.root());
  EXPECT_NE(leaf.serial_hex, again.serial_hex);
  EXPECT_NE(leaf.serial_hex, pki.root().serial_hex);
  EXPECT_NE(leaf.fingerprint_sha256, again.fingerprint_sha256);
  EXPECT_EQ(leaf.subject, "CN=mail.example.test");
  EXPECT_EQ(leaf.issuer, "CN=smtp_exporter test CA");
  EXPECT_THAT(leaf.fingerprint_sha256, ::testing::MatchesRegex("[0-9a-f]{64}"));

  ParsedCert parsed(leaf.cert_pem);
  ParsedCert root(pki.root().cert_pem);
  X509* x = parsed.cert;
  EXPECT_EQ(X509_check_ca(x), 0);
  EXPECT_EQ(X509_check_issued(root.cert, x), X509_V_OK);
  EXPECT_EQ(X509_get_key_usage(x), static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(x), static_cast<std::uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_check_host(x, "mail.example.test", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(x, "other.example.test", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(x, "::1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(x, "127.0.0.2", 0), 0);
  EXPECT_EQ(unix_time(X509_get0_notAfter(x)), leaf.not_after_unix);
  EXPECT_NEAR(static_cast<double>(leaf.not_after_unix - now_unix()), 30.0 * 24 * 3600, 60);
  EXPECT_LT(unix_time(X509_get0_notBefore(x)), now_unix());
}

TEST(TlsServerPki, ChainFileConcatenatesInOrderAndDirIsRemoved) {
  std::string dir;
  {
    TestPki pki;
    dir = pki.dir();
    CertSpec ca_spec;
    ca_spec.common_name = "intermediate";
    ca_spec.is_ca = true;
    Issued inter = pki.issue(ca_spec, pki.root());
    Issued leaf = pki.issue(mail_leaf(), inter);
    EXPECT_EQ(leaf.issuer, "CN=intermediate");
    std::ifstream in(pki.chain_file({&leaf, &inter}));
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str(), leaf.cert_pem + inter.cert_pem);
    EXPECT_TRUE(std::filesystem::is_directory(dir));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(TlsServerPki, BadInputThrowsWithTheReason) {
  TestPki pki;
  CertSpec spec = mail_leaf();
  spec.ip_addresses = {"not-an-ip"};
  EXPECT_THROW(pki.issue(spec, pki.root()), std::runtime_error);
  Issued missing = pki.root();
  missing.key_file = pki.dir() + "/nope.pem";
  try {
    pki.issue(mail_leaf(), missing);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("BIO_new_file"));
    EXPECT_THAT(e.what(), HasSubstr("No such file"));
  }
}

// --- the fake server over TLS ------------------------------------------------

TEST(TlsServer, StartTlsConversationVerifiesAgainstTheRoot) {
  TestPki pki;
  Issued leaf = pki.issue(mail_leaf(), pki.root());
  FakeSmtpServer server(starttls_server({pki.chain_file({&leaf}), leaf.key_file}));

  Client client(server.port());
  EXPECT_EQ(client.read_reply(), "220 fake.test ESMTP\r\n");
  EXPECT_EQ(client.command("EHLO client.test"), kEhloBefore);
  EXPECT_EQ(client.command("STARTTLS"), "220 2.0.0 Ready to start TLS\r\n");
  ASSERT_FALSE(client.start_tls({true, pki.root().cert_file, "mail.example.test"}));
  EXPECT_EQ(client.verify_result(), X509_V_OK);
  EXPECT_GE(SSL_version(client.ssl_handle()), TLS1_2_VERSION);
  EXPECT_EQ(client.command("EHLO client.test"), kEhloAfter);
  EXPECT_EQ(client.command("QUIT"), "221 2.0.0 Bye\r\n");
  EXPECT_EQ(client.read_end(), asio::error::eof) << "hang_up sends a TLS close_notify";
  EXPECT_THAT(server.received(), ElementsAre("EHLO client.test", "STARTTLS", "EHLO client.test", "QUIT"));
  EXPECT_EQ(server.tls_handshakes(), 1);
}

TEST(TlsServer, ImplicitTls) {
  TestPki pki;
  Issued leaf = pki.issue(mail_leaf(), pki.root());
  FakeSmtpServer server(implicit_tls_server({pki.chain_file({&leaf}), leaf.key_file}));

  Client client(server.port());
  ASSERT_FALSE(client.start_tls({true, pki.root().cert_file, "127.0.0.1"}));  // the IP SAN
  EXPECT_EQ(client.verify_result(), X509_V_OK);
  EXPECT_EQ(client.read_reply(), "220 fake.test ESMTP\r\n");
  EXPECT_EQ(client.command("EHLO client.test"),
            "250-fake.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n");
  EXPECT_EQ(client.command("QUIT"), "221 2.0.0 Bye\r\n");
  EXPECT_THAT(server.received(), ElementsAre("EHLO client.test", "QUIT"));
}

struct VerifyCase {
  const char* name;
  long expected;
};

class TlsServerVerify : public ::testing::TestWithParam<VerifyCase> {};

TEST_P(TlsServerVerify, ClientSeesTheExpectedVerifyResult) {
  TestPki pki;
  std::string name = GetParam().name;
  Issued leaf;
  if (name == "self_signed") {
    leaf = pki.self_signed(mail_leaf());
  } else if (name == "expired") {
    leaf = pki.issue(mail_leaf(-kDay), pki.root());
  } else if (name == "wrong_host") {
    CertSpec spec = mail_leaf();
    spec.common_name = "other.example.test";
    spec.dns_names = {"other.example.test"};
    leaf = pki.issue(spec, pki.root());
  } else {
    leaf = pki.issue(mail_leaf(), pki.root());
  }
  FakeSmtpServer server(implicit_tls_server({pki.chain_file({&leaf}), leaf.key_file}));

  Client client(server.port());
  ASSERT_FALSE(client.start_tls({false, pki.root().cert_file, "mail.example.test"}));  // SSL_VERIFY_NONE
  EXPECT_EQ(client.verify_result(), GetParam().expected)
      << X509_verify_cert_error_string(client.verify_result());
  EXPECT_EQ(client.read_reply(), "220 fake.test ESMTP\r\n");  // the session is usable anyway
}

INSTANTIATE_TEST_SUITE_P(TlsServer, TlsServerVerify,
                         ::testing::Values(VerifyCase{"trusted", X509_V_OK},
                                           VerifyCase{"self_signed", X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT},
                                           VerifyCase{"expired", X509_V_ERR_CERT_HAS_EXPIRED},
                                           VerifyCase{"wrong_host", X509_V_ERR_HOSTNAME_MISMATCH}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(TlsServer, ClientAbortingTheHandshakeJustEndsThatConnection) {
  TestPki pki;
  Issued leaf = pki.self_signed(mail_leaf());
  FakeSmtpServer server(starttls_server({pki.chain_file({&leaf}), leaf.key_file}));
  {
    Client client(server.port());
    client.read_reply();
    client.command("EHLO client.test");
    client.command("STARTTLS");
    EXPECT_TRUE(client.start_tls({true, pki.root().cert_file, "mail.example.test"}));  // untrusted: aborts
    EXPECT_EQ(client.verify_result(), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
  }
  // The server is still there for the next connection.
  Client client(server.port());
  EXPECT_EQ(client.read_reply(), "220 fake.test ESMTP\r\n");
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(server.tls_handshakes(), 0);
}

TEST(TlsServer, ChainWithAnIntermediate) {
  TestPki pki;
  CertSpec ca_spec;
  ca_spec.common_name = "smtp_exporter test intermediate";
  ca_spec.is_ca = true;
  ca_spec.not_after = 2 * kDay;
  Issued inter = pki.issue(ca_spec, pki.root());
  Issued leaf = pki.issue(mail_leaf(30 * kDay), inter);
  FakeSmtpServer server(implicit_tls_server({pki.chain_file({&leaf, &inter}), leaf.key_file}));

  Client client(server.port());
  ASSERT_FALSE(client.start_tls({true, pki.root().cert_file, "mail.example.test"}));
  EXPECT_EQ(client.verify_result(), X509_V_OK);
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(client.ssl_handle());  // as sent: leaf, intermediate
  ASSERT_NE(chain, nullptr);
  ASSERT_EQ(sk_X509_num(chain), 2);
  X509* presented_leaf = sk_X509_value(chain, 0);
  X509* presented_inter = sk_X509_value(chain, 1);
  EXPECT_EQ(sha256_fingerprint(presented_leaf), leaf.fingerprint_sha256);
  EXPECT_EQ(sha256_fingerprint(presented_inter), inter.fingerprint_sha256);
  EXPECT_EQ(unix_time(X509_get0_notAfter(presented_inter)), inter.not_after_unix);
  EXPECT_NEAR(static_cast<double>(inter.not_after_unix - now_unix()), 2.0 * 24 * 3600, 60);
  EXPECT_EQ(unix_time(X509_get0_notAfter(presented_leaf)), leaf.not_after_unix);
  EXPECT_EQ(rfc2253(X509_get_issuer_name(presented_leaf)), leaf.issuer);
  EXPECT_EQ(leaf.issuer, inter.subject);
  EXPECT_EQ(inter.issuer, pki.root().subject);
  // The verified chain reaches the root.
  STACK_OF(X509)* verified = SSL_get0_verified_chain(client.ssl_handle());
  ASSERT_NE(verified, nullptr);
  EXPECT_EQ(sk_X509_num(verified), 3);
}

TEST(TlsServer, IssuedDescribesThePresentedLeaf) {
  TestPki pki;
  Issued leaf = pki.issue(mail_leaf(), pki.root());
  FakeSmtpServer server(starttls_server({pki.chain_file({&leaf}), leaf.key_file}));

  Client client(server.port());
  client.read_reply();
  client.command("EHLO client.test");
  client.command("STARTTLS");
  ASSERT_FALSE(client.start_tls({false, "", ""}));
  X509* peer = SSL_get1_peer_certificate(client.ssl_handle());
  ASSERT_NE(peer, nullptr);
  EXPECT_EQ(sha256_fingerprint(peer), leaf.fingerprint_sha256);
  EXPECT_EQ(serial_hex(peer), leaf.serial_hex);
  EXPECT_EQ(rfc2253(X509_get_subject_name(peer)), leaf.subject);
  EXPECT_EQ(rfc2253(X509_get_issuer_name(peer)), leaf.issuer);
  EXPECT_EQ(unix_time(X509_get0_notAfter(peer)), leaf.not_after_unix);
  X509_free(peer);
  EXPECT_EQ(client.command("EHLO client.test"), kEhloAfter);
}

TEST(TlsServer, PlainStepsAreUnchanged) {
  FakeSmtpServer server(polite_server());
  Client client(server.port());
  EXPECT_EQ(client.read_reply(), "220 fake.test ESMTP\r\n");
  EXPECT_EQ(client.command("EHLO client.test"),
            "250-fake.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n");
  EXPECT_EQ(client.command("QUIT"), "221 2.0.0 Bye\r\n");
  EXPECT_EQ(server.tls_handshakes(), 0);
}

TEST(TlsServer, MissingIdentityFilesThrowAtConstruction) {
  EXPECT_THROW({ FakeSmtpServer server(implicit_tls_server({"/nonexistent/chain.pem", "/nonexistent/key.pem"})); },
               std::exception);
}

}  // namespace
}  // namespace smtp_exporter::testing
