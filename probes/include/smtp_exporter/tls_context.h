// The OpenSSL client context of a module's tls_config, built once when the
// configuration is loaded (CA store, client certificate, versions, ciphers)
// and shared by every probe of that module.
#pragma once

#include <memory>

#include "smtp_exporter/config.h"

namespace smtp_exporter::probes {

struct TlsContext;  // defined in probes/tls.h

// Throws std::runtime_error with the reason (unreadable CA, bad key, unknown cipher...).
std::shared_ptr<TlsContext> make_tls_context(const config::TlsConfig& config);

// OpenSSL's protocol version (TLS1_2_VERSION, ...) of a configured version;
// also used by the exporter's server context (--web.config.file).
int protocol_version(config::TlsVersion version);

}  // namespace smtp_exporter::probes
