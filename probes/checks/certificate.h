// The TLS session and certificate chain presented (probes/checks/certificate.cpp).
#pragma once

#include "smtp_exporter/check.h"
#include "smtp_exporter/report.h"

namespace smtp_exporter::probes {

const Check& certificate_check();

// A TLS session as the `check` report's JSON writes it (the MX hosts' too).
Json tls_json(const TlsInfo& tls);

}  // namespace smtp_exporter::probes
