// --web.config.file: the Prometheus exporter-toolkit web configuration (YAML):
// TLS for the HTTP server, extra response headers, and basic authentication
// with bcrypt hashes. See docs/configuration.md#web-configuration-file.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smtp_exporter/config.h"

namespace boost::asio::ssl {
class context;
}

namespace smtp_exporter::exporter {

// tls_server_config.client_auth_type (Go's tls.ClientAuthType names).
enum class ClientAuth {
  no_client_cert,                 // NoClientCert (default)
  request_client_cert,            // RequestClientCert: asked for, not required, not verified
  require_any_client_cert,        // RequireAnyClientCert: required, not verified
  verify_client_cert_if_given,    // VerifyClientCertIfGiven: verified when sent
  require_and_verify_client_cert  // RequireAndVerifyClientCert: required and verified
};

struct TlsServerConfig {
  // PEM files (relative paths are relative to the web config file), or the
  // PEM text itself (cert, key, client_ca): one of each pair.
  std::string cert_file, key_file, client_ca_file;
  std::string cert, key, client_ca;
  ClientAuth client_auth = ClientAuth::no_client_cert;
  config::TlsVersion min_version = config::TlsVersion::tls12;
  config::TlsVersion max_version = config::TlsVersion::tls13;
  std::vector<std::string> ciphers;  // OpenSSL names of cipher_suites (TLS 1.2 and below); empty: default
  bool prefer_server_cipher_suites = true;
  std::vector<std::string> groups;  // OpenSSL names of curve_preferences; empty: default
};

struct WebConfig {
  std::string source;  // the file
  std::optional<TlsServerConfig> tls;
  std::vector<std::pair<std::string, std::string>> headers;  // http_server_config.headers
  std::map<std::string, std::string> users;                   // basic_auth_users: name → bcrypt hash
};

// "FILE:LINE:COLUMN: KEY: reason" (or "FILE: reason" without a position).
class WebConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses and validates the YAML text; `source` names it in errors, and
// relative file names are resolved against `base_dir` (and must be
// readable). Throws WebConfigError.
WebConfig parse_web_config(std::string_view yaml, const std::string& source, const std::string& base_dir);
WebConfig load_web_config(const std::string& path);

// The OpenSSL server context for tls_server_config. Throws
// std::runtime_error with OpenSSL's reason.
std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const TlsServerConfig& tls);

// "$2a$", "$2b$" or "$2y$", a two-digit cost from 04 to 31, 53 characters.
bool valid_bcrypt_hash(std::string_view hash);
// bcrypt(password, salt of `hash`) == hash, with libxcrypt's crypt_rn and a
// constant-time comparison. Slow by design (cost 10: tens of ms).
bool bcrypt_matches(const std::string& password, const std::string& hash);

// Basic authentication against basic_auth_users. Thread-safe.
//
// bcrypt is slow on purpose, and this runs on the event loop, so successful
// verifications are cached (keyed by SHA-256 of user, hash and password, as
// exporter-toolkit does): each valid credential is hashed once per process,
// and a scrape with cached credentials costs a hash lookup. What remains on
// the loop is one bcrypt (about 70 ms at cost 10) for the first request with
// a given credential, and one for every request with a wrong password or an
// unknown user (those are not cached, so guessing stays slow); keep the
// cost moderate (10) and put TLS in front.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users);
  // Whether an Authorization header value ("Basic BASE64(user:password)")
  // names a configured user with the right password. "" (no header): false.
  bool authorize(std::string_view authorization);
  std::size_t cached() const;

 private:
  std::map<std::string, std::string> users_;
  mutable std::mutex mutex_;
  std::set<std::array<unsigned char, 32>> verified_;
};

}  // namespace smtp_exporter::exporter
