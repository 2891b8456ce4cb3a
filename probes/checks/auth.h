// SMTP AUTH (RFC 4954): the SASL exchange with the module's credentials, or a bare AUTH expected to be refused (probes/checks/auth.cpp).
#pragma once

#include "smtp_exporter/check.h"

namespace smtp_exporter::probes {

const Check& auth_check();

}  // namespace smtp_exporter::probes
