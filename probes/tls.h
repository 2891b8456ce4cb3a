// TLS facts from OpenSSL: context setup, per-session verification settings,
// and the inspection of a completed handshake. No sockets here.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "smtp_exporter/probe_result.h"
#include "smtp_exporter/tls_context.h"

namespace smtp_exporter::probes {

class TlsContext {
 public:
  explicit TlsContext(config::TlsConfig config) : config_(std::move(config)) {}
  // Built on the first call (once, whichever thread calls first); throws
  // std::runtime_error when OpenSSL refuses a setting, and tries again on
  // the next call.
  boost::asio::ssl::context& ssl();

 private:
  config::TlsConfig config_;
  std::once_flag built_;
  std::optional<boost::asio::ssl::context> ssl_;
};

// Sets SNI (for names, not IP addresses) and the name or address the
// certificate must match, so OpenSSL reports a mismatch as a verify error.
void prepare_session(SSL* ssl, const std::string& server_name);

// Short label for an X509_V_ERR_* code: expired, not_yet_valid, self_signed,
// unknown_ca, hostname_mismatch, revoked, invalid_purpose, weak_key, other.
std::string verify_reason(int x509_error);

// The negotiated version and cipher, the chains, and the verification
// outcome given the X509 errors collected during the handshake.
TlsInfo inspect_session(SSL* ssl, const std::vector<int>& x509_errors, const std::string& server_name,
                        std::chrono::system_clock::time_point now);

// The facts of one certificate.
Certificate describe_certificate(X509* cert);

// The earliest notAfter of a non-empty chain, Unix seconds (probe_ssl_*_expiry).
double earliest_not_after(const std::vector<Certificate>& chain);

}  // namespace smtp_exporter::probes
