// The connection and the 220 greeting: resolve, connect (and the implicit TLS handshake), the greeting's code and latency (probes/checks/greeting.cpp).
#pragma once

#include "smtp_exporter/check.h"

namespace smtp_exporter::probes {

const Check& greeting_check();

}  // namespace smtp_exporter::probes
