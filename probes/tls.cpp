#include "tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace smtp_exporter::probes {
namespace {

std::string openssl_error() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    out += out.empty() ? "" : "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}


bool is_ip_address(const std::string& s) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::string hex(const unsigned char* data, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

std::string name_text(const X509_NAME* name) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::int64_t unix_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::vector<Certificate> describe_chain(STACK_OF(X509) * chain) {
  std::vector<Certificate> out;
  for (int i = 0; chain && i < sk_X509_num(chain); ++i) out.push_back(describe_certificate(sk_X509_value(chain, i)));
  return out;
}

// The system's CA directory when it can be read lazily: a c_rehash'ed
// directory (HASH.0 links, as Debian's /etc/ssl/certs) and no SSL_CERT_FILE
// asking for a bundle. OpenSSL then reads a CA when a chain needs it and keeps
// it, instead of parsing the whole bundle (~150 certificates, ~1.5 MB) for
// every context at start-up. nullptr: load the default paths eagerly.
const char* hashed_system_ca_dir() {
  if (std::getenv(X509_get_default_cert_file_env())) return nullptr;
  const char* dir = std::getenv(X509_get_default_cert_dir_env());
  if (!dir) dir = X509_get_default_cert_dir();
  if (std::string_view(dir).find(':') != std::string_view::npos) return nullptr;  // a list: keep OpenSSL's handling
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() == 10 && name.ends_with(".0") &&
        name.find_first_not_of("0123456789abcdef") == 8)
      return dir;
  }
  return nullptr;
}

}  // namespace

int protocol_version(config::TlsVersion v) {
  switch (v) {
    case config::TlsVersion::tls10: return TLS1_VERSION;
    case config::TlsVersion::tls11: return TLS1_1_VERSION;
    case config::TlsVersion::tls12: return TLS1_2_VERSION;
    case config::TlsVersion::tls13: return TLS1_3_VERSION;
  }
  return 0;
}

namespace {

// The settings of `config` on a new client context.
void configure(boost::asio::ssl::context& context, const config::TlsConfig& config) {
  SSL_CTX* ctx = context.native_handle();
  // DANE's digest tables (cheap); a session uses DANE only when the dane unit enables it.
  if (SSL_CTX_dane_enable(ctx) <= 0) throw std::runtime_error("cannot enable DANE: " + openssl_error());
  boost::system::error_code ec;
  if (config.ca_file.empty()) {
    if (const char* dir = hashed_system_ca_dir()) {
      if (SSL_CTX_load_verify_dir(ctx, dir) != 1)
        throw std::runtime_error(std::string("cannot use the system's trusted CAs in ") + dir + ": " + openssl_error());
    } else {
      context.set_default_verify_paths(ec);
      if (ec) throw std::runtime_error("cannot load the system's trusted CAs: " + ec.message());
    }
  } else {
    context.load_verify_file(config.ca_file, ec);
    if (ec) throw std::runtime_error("ca_file \"" + config.ca_file + "\": " + ec.message());
  }
  if (!config.cert_file.empty()) {
    context.use_certificate_chain_file(config.cert_file, ec);
    if (ec) throw std::runtime_error("cert_file \"" + config.cert_file + "\": " + ec.message());
    context.use_private_key_file(config.key_file, boost::asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("key_file \"" + config.key_file + "\": " + ec.message());
  }
  if (config.min_version && SSL_CTX_set_min_proto_version(ctx, protocol_version(*config.min_version)) != 1)
    throw std::runtime_error("min_version: " + openssl_error());
  if (config.max_version && SSL_CTX_set_max_proto_version(ctx, protocol_version(*config.max_version)) != 1)
    throw std::runtime_error("max_version: " + openssl_error());
  if (!config.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, config.ciphers.c_str()) != 1)
    throw std::runtime_error("ciphers \"" + config.ciphers + "\": " + openssl_error());
}

}  // namespace

std::shared_ptr<TlsContext> make_tls_context(const config::TlsConfig& config, bool now) {
  auto context = std::make_shared<TlsContext>(config);
  if (now) context->ssl();
  return context;
}

boost::asio::ssl::context& TlsContext::ssl() {
  std::call_once(built_, [this] {
    boost::asio::ssl::context built(boost::asio::ssl::context::tls_client);
    configure(built, config_);  // throws: built_ stays unset, the next call tries again
    ssl_.emplace(std::move(built));
  });
  return *ssl_;
}

void prepare_session(SSL* ssl, const std::string& server_name) {
  if (server_name.empty()) return;
  if (is_ip_address(server_name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, server_name.c_str());  // SNI carries names only (RFC 6066 §3)
    SSL_set1_host(ssl, server_name.c_str());
  }
}

std::string verify_reason(int e) {
  switch (e) {
    case X509_V_ERR_CERT_HAS_EXPIRED: return "expired";
    case X509_V_ERR_CERT_NOT_YET_VALID: return "not_yet_valid";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: return "self_signed";
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return "unknown_ca";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return "hostname_mismatch";
    case X509_V_ERR_CERT_REVOKED: return "revoked";
    case X509_V_ERR_INVALID_PURPOSE: return "invalid_purpose";
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
    case X509_V_ERR_CA_MD_TOO_WEAK: return "weak_key";
    default: return "other";
  }
}

Certificate describe_certificate(X509* cert) {
  Certificate c;
  c.not_before = unix_time(X509_get0_notBefore(cert));
  c.not_after = unix_time(X509_get0_notAfter(cert));
  c.subject = name_text(X509_get_subject_name(cert));
  c.issuer = name_text(X509_get_issuer_name(cert));
  if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    if (char* text = BN_bn2hex(serial)) {
      c.serial = text;
      OPENSSL_free(text);
    }
    BN_free(serial);
  }
  std::transform(c.serial.begin(), c.serial.end(), c.serial.begin(), [](unsigned char ch) { return std::tolower(ch); });
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) == 1) c.fingerprint_sha256 = hex(digest, length);
  return c;
}

TlsInfo inspect_session(SSL* ssl, const std::vector<int>& x509_errors, const std::string& server_name,
                        std::chrono::system_clock::time_point now) {
  TlsInfo info;
  // "TLSv1.3" → "TLS 1.3", "TLSv1" → "TLS 1.0", as blackbox_exporter reports them.
  std::string version = SSL_get_version(ssl);
  if (version.starts_with("TLSv")) version = "TLS " + version.substr(4);
  if (version == "TLS 1") version = "TLS 1.0";
  info.version = version;
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl)) info.cipher = SSL_CIPHER_get_name(cipher);
  info.server_name = server_name;
  info.presented_chain = describe_chain(SSL_get_peer_cert_chain(ssl));
  for (int e : x509_errors) {
    std::string reason = verify_reason(e);
    if (std::find(info.verify_errors.begin(), info.verify_errors.end(), reason) == info.verify_errors.end())
      info.verify_errors.push_back(reason);
  }
  if (info.presented_chain.empty()) info.verify_errors.push_back("no_certificate");
  info.verified = info.verify_errors.empty() && SSL_get_verify_result(ssl) == X509_V_OK;
  if (!x509_errors.empty()) info.verify_detail = X509_verify_cert_error_string(x509_errors.front());
  if (info.verified) info.verified_chain = describe_chain(SSL_get0_verified_chain(ssl));
  if (!info.presented_chain.empty()) {
    auto seconds = std::chrono::duration<double>(now.time_since_epoch()).count();
    info.leaf_days_to_expiry = (static_cast<double>(info.presented_chain.front().not_after) - seconds) / 86400.0;
  }
  return info;
}

double earliest_not_after(const std::vector<Certificate>& chain) {
  std::int64_t t = chain.front().not_after;
  for (const auto& c : chain) t = std::min(t, c.not_after);
  return static_cast<double>(t);
}

}  // namespace smtp_exporter::probes
