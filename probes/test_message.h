// The test message: its correlation token and its text (headers, dot-stuffed
// body, CRLF). Pure helpers, unit-tested without sockets; MAIL/RCPT/DATA is
// the send unit's (probes/checks/send.cpp).
#pragma once

#include <chrono>
#include <string>

#include "smtp_exporter/config.h"

namespace smtp_exporter::probes {

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
