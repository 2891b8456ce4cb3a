// SASL for SMTP AUTH (RFC 4954): choosing a mechanism and the CRAM-MD5
// response. Pure helpers, unit-tested without sockets; the exchange itself is
// the auth unit's (probes/checks/auth.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "smtp_exporter/base64.h"  // SASL encodes with it

namespace smtp_exporter::probes {

// The CRAM-MD5 response (RFC 2195) to a server challenge, before base64:
// "USER <hex HMAC-MD5(password, challenge)>".
std::string cram_md5_response(std::string_view user, std::string_view password, std::string_view challenge);

// The first of `preferred` the server offers (case-insensitive), or empty.
std::string choose_mechanism(const std::vector<std::string>& preferred, const std::vector<std::string>& offered);

}  // namespace smtp_exporter::probes
