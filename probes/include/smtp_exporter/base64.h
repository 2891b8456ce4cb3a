// Standard base64 (RFC 4648, section 4: the "+/" alphabet, "=" padding), on
// OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock. Used by SMTP AUTH (probes) and
// HTTP basic authentication (exporter).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smtp_exporter {

std::string base64_encode(std::string_view data);

// nullopt unless `text` is strict base64: a multiple of 4 characters, all of
// the alphabet except one or two final "="; no whitespace or line breaks.
// The unused bits of the last character are not checked (as most decoders).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace smtp_exporter
