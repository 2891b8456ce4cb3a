// SMTP reply parsing (RFC 5321 §4.2): "250-first\r\n250 last\r\n". Pure
// functions over bytes, so they are unit-tested and fuzzable without sockets.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_exporter::probes {

struct Reply {
  int code = 0;
  std::vector<std::string> lines;  // text after "NNN-" / "NNN ", CR LF stripped
};

// Bounds that keep a hostile or broken server from growing our memory:
// RFC 5321 §4.5.3.1 allows 512-octet reply lines; we accept up to a 1000-octet
// text line, and no reply legitimately needs more than a few dozen lines.
struct ReplyLimits {
  std::size_t max_line_bytes = 1000;  // including CR LF
  std::size_t max_lines = 100;
  std::size_t max_reply_bytes = 64 * 1024;
};

struct ReplyParse {
  enum class Status { need_more, complete, error };
  Status status = Status::need_more;
  Reply reply;               // when complete
  std::size_t consumed = 0;  // bytes of the input that the reply used
  std::string error;         // when error: one line, printable
};

// Parses one reply from the start of `data`. need_more means every line so far
// is valid but the final line ("NNN " or "NNN") has not arrived yet; an
// incomplete line that cannot become a reply line ("\x15\x03", "SSH-") is
// an error at once.
ReplyParse parse_reply(std::string_view data, const ReplyLimits& limits = {});

// "5.7.8" when `text` (a reply line) starts with an RFC 3463 enhanced status
// code whose class matches `code` (2xx, 4xx, 5xx); otherwise empty.
std::string enhanced_status_code(int code, std::string_view text);

// `text` made safe for a log line or an error message: control and non-ASCII
// bytes as \xNN, cut at `max` characters with "...".
std::string printable(std::string_view text, std::size_t max = 120);

}  // namespace smtp_exporter::probes
