// Pure helpers of SMTP AUTH and the test message: SASL encodings, RFC 3463
// enhanced status codes, and the message text. No sockets: unit-testable.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smtp_exporter/base64.h"  // SASL encodes with it
#include "smtp_exporter/config.h"

namespace smtp_exporter::probes {

// The CRAM-MD5 response (RFC 2195) to a server challenge, before base64:
// "USER <hex HMAC-MD5(password, challenge)>".
std::string cram_md5_response(std::string_view user, std::string_view password, std::string_view challenge);

// The first of `preferred` the server offers (case-insensitive), or empty.
std::string choose_mechanism(const std::vector<std::string>& preferred, const std::vector<std::string>& offered);

// "5.7.8" when `text` (a reply line) starts with an RFC 3463 enhanced status
// code whose class matches `code` (2xx, 4xx, 5xx); otherwise empty.
std::string enhanced_status_code(int code, std::string_view text);

// Six random characters [a-z0-9].
std::string random_token();

struct MessageFields {
  std::string token;
  std::string timestamp;  // RFC 3339 UTC, in the subject and Message-ID
  std::string date;       // RFC 5322, the Date header
  std::string domain;     // right of '@' in Message-ID (the EHLO name)
};
MessageFields message_fields(std::chrono::system_clock::time_point now, std::string token, std::string domain);

// The DATA payload: headers, blank line, dot-stuffed body, CRLF line
// endings, ending with "\r\n.\r\n".
std::string build_message(const config::SendConfig& send, const MessageFields& fields);

}  // namespace smtp_exporter::probes
