// The OpenSSL client context of a module's tls_config, built once when the
// configuration is loaded (CA store, client certificate, versions, ciphers)
// and shared by every probe of that module.
#pragma once

#include <memory>

#include "smtp_exporter/config.h"

namespace smtp_exporter::probes {

class TlsContext;  // defined in probes/tls.h

// The context of `config`. OpenSSL builds it on first use (TlsContext::ssl):
// building one maps most of libcrypto and the default provider's tables
// (about 4 MB of RSS), which an exporter probing only greetings never needs.
// `now`: built here, throwing std::runtime_error with the reason (a PEM
// file OpenSSL cannot use, a cipher list that matches nothing).
std::shared_ptr<TlsContext> make_tls_context(const config::TlsConfig& config, bool now = false);

// OpenSSL's protocol version (TLS1_2_VERSION, ...) of a configured version;
// also used by the exporter's server context (--web.config.file).
int protocol_version(config::TlsVersion version);

}  // namespace smtp_exporter::probes
