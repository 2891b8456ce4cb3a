// A mail domain's MX set (RFC 5321 §5.1, RFC 7505), then every address of every MX host probed at once (probes/checks/mx.cpp).
#pragma once

#include "smtp_exporter/check.h"

namespace smtp_exporter::probes {

const Check& mx_check();

}  // namespace smtp_exporter::probes
