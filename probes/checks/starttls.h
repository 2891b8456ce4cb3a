// STARTTLS (RFC 3207) (probes/checks/starttls.cpp).
#pragma once

#include "smtp_exporter/check.h"

namespace smtp_exporter::probes {

const Check& tls_check();

}  // namespace smtp_exporter::probes
