// The TLS session and certificate chain presented (probes/checks/certificate.cpp).
#pragma once

#include "smtp_exporter/check.h"

namespace smtp_exporter::probes {

const Check& certificate_check();

}  // namespace smtp_exporter::probes
