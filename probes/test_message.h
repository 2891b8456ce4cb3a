// The test message: its correlation token and its text (headers, dot-stuffed
// body, CRLF). Pure helpers, unit-tested without sockets; MAIL/RCPT/DATA is
// the send unit's (probes/checks/send.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
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
  std::int64_t unix_seconds = 0;  // the same time, in X-Smtp-Exporter-Token's sent=
};

// The X-Smtp-Exporter-Token header's value: "TOKEN; sent=UNIX_SECONDS". The
// receive unit finds the message by it (IMAP SEARCH HEADER, or a Maildir
// file's header) and removes leftovers of earlier runs by their age.
std::string token_header_value(const MessageFields& fields);
struct TokenHeader {
  std::string token;
  std::int64_t sent_unix = 0;  // 0 when absent
};
// Parses a value written by token_header_value (white space around it
// ignored); nullopt when it is not one.
std::optional<TokenHeader> parse_token_header(std::string_view value);
// The value of the X-Smtp-Exporter-Token field in a header block ("" when absent).
std::string token_header_in(std::string_view header_block);
MessageFields message_fields(std::chrono::system_clock::time_point now, std::string token, std::string domain);

// The DATA payload: headers, blank line, dot-stuffed body, CRLF line
// endings, ending with "\r\n.\r\n".
std::string build_message(const config::SendConfig& send, const MessageFields& fields);

}  // namespace smtp_exporter::probes
