// The test message: MAIL FROM, RCPT TO per recipient, DATA with a correlation token (probes/checks/send.cpp).
#pragma once

#include "smtp_exporter/check.h"

namespace smtp_exporter::probes {

const Check& send_check();

}  // namespace smtp_exporter::probes
