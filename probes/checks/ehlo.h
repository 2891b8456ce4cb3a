// EHLO (HELO fallback) and the extensions it advertises (probes/checks/ehlo.cpp).
#pragma once

#include "smtp_exporter/check.h"

namespace smtp_exporter::probes {

const Check& ehlo_check();

// One EHLO exchange on `session` (also after STARTTLS, RFC 3207 §4.2: what
// was learned before TLS is forgotten). False when the conversation is over.
boost::asio::awaitable<bool> ehlo_exchange(SmtpSession& session);

}  // namespace smtp_exporter::probes
