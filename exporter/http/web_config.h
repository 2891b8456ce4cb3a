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

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

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

// bcrypt costs above this are refused at load: at cost 15 one check takes
// about 2 s of CPU, which any client could demand again and again.
constexpr int kMaxBcryptCost = 14;

// Basic authentication against basic_auth_users. Thread-safe.
//
// bcrypt is slow on purpose, so it never runs on the event loop (check()
// sends it to a worker pool), and its results are cached as exporter-toolkit
// does (keyed by SHA-256 of user, hash and password; successes and failures
// apart, so a flood of wrong passwords cannot evict the right ones): a scrape
// with known credentials costs a hash lookup, and so does a wrong password
// sent again. What is left, new wrong passwords, is bounded: per source
// address a few failed checks and then one a second, at most two checks in
// flight, and at most kMaxPending waiting in all; beyond that the answer is
// `throttled` (HTTP 429) without running bcrypt. An unknown user costs one
// bcrypt at the highest cost among the users, never less than a known one.
class BasicAuth {
 public:
  enum class Verdict { allowed, denied, throttled };
  struct Credentials {
    std::string user, password;
  };

  explicit BasicAuth(std::map<std::string, std::string> users);
  ~BasicAuth();

  // The verdict for an Authorization header value ("Basic BASE64(user:password)")
  // from `source` (the client's address); "" (no header): denied. bcrypt runs
  // on `pool`; the coroutine resumes on its own executor.
  boost::asio::awaitable<Verdict> check(std::string_view authorization, std::string source,
                                        boost::asio::any_io_executor pool);
  // The same on the calling thread, without the per-source bounds (tests, tools).
  bool authorize(std::string_view authorization);

  std::size_t cached() const;    // credentials verified right
  std::size_t rejected() const;  // credentials verified wrong
  std::size_t bcrypt_runs() const;

  static constexpr std::size_t kMaxPending = 8;
  static constexpr int kFailureBurst = 5;           // failed checks a source may make at once
  static constexpr double kFailuresPerSecond = 1;   // then this many a second
  static constexpr int kInFlightPerSource = 2;

 private:
  struct Key;
  struct Source;
  // The user's hash, or for an unknown user the most expensive one.
  const std::string& hash_for(const std::string& user) const;
  std::optional<bool> lookup(const std::array<unsigned char, 32>& key, bool known) const;
  // What authorize() and check() decide before any bcrypt: no users, allowed
  // (true); a header that is not Basic user:password, denied (false);
  // credentials verified before, the cached answer. Otherwise nullopt, with
  // `credentials` and `key` filled in for verify().
  std::optional<bool> answer_without_bcrypt(std::string_view authorization, Credentials& credentials,
                                            std::array<unsigned char, 32>& key) const;
  bool verify(const Credentials& credentials, const std::array<unsigned char, 32>& key);
  static boost::asio::awaitable<bool> verify_on(BasicAuth* self, Credentials credentials,
                                                std::array<unsigned char, 32> key);

  std::map<std::string, std::string> users_;
  std::string costliest_hash_;
  mutable std::mutex mutex_;
  std::set<std::array<unsigned char, 32>> verified_, wrong_;
  std::map<std::string, Source> sources_;
  std::size_t pending_ = 0;
  std::size_t bcrypt_runs_ = 0;
};

}  // namespace smtp_exporter::exporter
