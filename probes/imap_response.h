// IMAP4rev1 server responses (RFC 3501 §7, §9): one response at a time out
// of the bytes received, with its literals ({n} CRLF and n bytes), turned
// into a small tree of atoms, strings and parenthesized lists; and the
// readers of the responses the delivery check uses (CAPABILITY, LIST with
// SPECIAL-USE flags, SEARCH, FETCH, EXISTS). Pure functions, no sockets:
// unit-tested and fuzzed (tests/fuzz/imap_response_fuzz.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_exporter::probes::imap {

// One element of a response: an atom or number (NIL too), a quoted string or
// literal, or a parenthesized list.
struct Item {
  enum class Kind { atom, string, list };
  Kind kind = Kind::atom;
  std::string text;         // atom or string contents (a literal's bytes)
  std::vector<Item> items;  // list
};

struct Response {
  enum class Type { untagged, tagged, continuation };
  Type type = Type::untagged;
  std::string tag;  // tagged: the command's tag
  // Status responses (OK, NO, BAD, BYE, PREAUTH), upper-cased: the status,
  // the response code in brackets (its words) and the human text.
  std::string status;
  std::vector<std::string> code;  // "[CAPABILITY IMAP4rev1 IDLE]" → {"CAPABILITY", "IMAP4rev1", "IDLE"}
  std::string text;
  // Other untagged data ("* 3 EXISTS", "* SEARCH 1 2", "* LIST (...) "/" INBOX",
  // "* 1 FETCH (...)"): every item after the '*'.
  std::vector<Item> items;
};

// Bounds on what one response may hold: a hostile or broken server must not
// make the client buffer without end.
struct Limits {
  std::size_t max_line = 64 * 1024;     // one line, between literals
  std::size_t max_literal = 256 * 1024;  // one literal's bytes
  std::size_t max_depth = 16;           // nested lists
  std::size_t max_items = 100000;       // items in the whole response
};

enum class Parse { complete, incomplete, error };

// Parses the first response in `in`. complete: `out` is filled and `used`
// is the number of bytes it took (up to and including its final CRLF);
// incomplete: more bytes are needed; error: `error` says why (one line).
Parse parse_response(std::string_view in, std::size_t& used, Response& out, std::string& error,
                     const Limits& limits = {});

// Readers of one parsed response; nullopt / empty when it is not of the kind.

// CAPABILITY data or an OK [CAPABILITY ...] code: the capabilities, upper-cased.
std::optional<std::vector<std::string>> capabilities(const Response& r);

struct ListEntry {
  std::vector<std::string> flags;  // as sent ("\HasNoChildren", "\Junk")
  std::string delimiter;           // "" for NIL
  std::string name;                // the mailbox name as sent (modified UTF-7)
  bool has_flag(std::string_view flag) const;  // case-insensitive
};
std::optional<ListEntry> list_entry(const Response& r);

// "* SEARCH 4 7 9": the numbers (UIDs for UID SEARCH); an empty vector for "* SEARCH".
std::optional<std::vector<std::uint32_t>> search_numbers(const Response& r);

// "* N EXISTS"
std::optional<std::uint32_t> exists(const Response& r);

struct FetchData {
  std::uint32_t sequence = 0;
  std::optional<std::uint32_t> uid;
  std::string internal_date;  // INTERNALDATE, as sent
  std::string header;         // BODY[HEADER.FIELDS (...)] or BODY[HEADER]: the header bytes
};
std::optional<FetchData> fetch_data(const Response& r);

// An IMAP astring for a command: an atom when safe, else a quoted string
// (a name with CR, LF or NUL is refused upstream: nullopt).
std::optional<std::string> quote(std::string_view text);

}  // namespace smtp_exporter::probes::imap
