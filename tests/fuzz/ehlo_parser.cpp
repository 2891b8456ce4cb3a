// Fuzz target: probes::parse_ehlo (probes/ehlo.cpp).
//
// The input is an EHLO reply as a server sends it ("250-greeting\r\n
// 250-SIZE 10240000\r\n250 AUTH PLAIN LOGIN\r\n"). It reaches parse_ehlo two
// ways: through parse_reply, as in the probe, and as raw lines (split at LF,
// any bytes, no code), so that parse_ehlo is also tried on text the reply
// parser would have refused.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ehlo_reply.h"
#include "fuzz_check.h"
#include "smtp_reply.h"

using smtp_exporter::probes::EhloInfo;
using smtp_exporter::probes::parse_ehlo;
using smtp_exporter::probes::parse_reply;
using smtp_exporter::probes::Reply;
using smtp_exporter::probes::ReplyParse;

namespace {

// ehlo-keyword (RFC 5321 §4.1.1.1), upper-cased, at most 64 characters.
bool upper_keyword(std::string_view k) {
  if (k.empty() || k.size() > 64 || k.front() == '-') return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
}

template <typename T>
bool unique(const std::vector<T>& items, auto key) {
  for (std::size_t i = 0; i < items.size(); ++i)
    for (std::size_t j = i + 1; j < items.size(); ++j)
      if (key(items[i]) == key(items[j])) return false;
  return true;
}

void check(const Reply& reply, const EhloInfo& info) {
  const std::size_t ext_lines = reply.lines.empty() ? 0 : reply.lines.size() - 1;
  // Each line after the greeting is an extension, a repeat of one, or ignored.
  FUZZ_CHECK(info.extensions.size() + info.ignored_lines.size() <= ext_lines);
  for (const auto& ignored : info.ignored_lines)
    FUZZ_CHECK(std::find(reply.lines.begin() + 1, reply.lines.end(), ignored) != reply.lines.end());

  FUZZ_CHECK(unique(info.extensions, [](const auto& e) { return e.keyword; }));
  const smtp_exporter::probes::EhloExtension* size = nullptr;
  const smtp_exporter::probes::EhloExtension* auth = nullptr;
  for (const auto& e : info.extensions) {
    FUZZ_CHECK(upper_keyword(e.keyword));
    // Parameters are trimmed of spaces (not of other blanks).
    FUZZ_CHECK(e.params.empty() || (e.params.front() != ' ' && e.params.back() != ' '));
    if (e.keyword == "SIZE") size = &e;
    if (e.keyword == "AUTH") auth = &e;
  }

  // SIZE: when advertised, either a limit (the first SIZE line's number, or 0
  // without a parameter) or unparsable (its parameter kept), never both.
  FUZZ_CHECK((info.size_limit.has_value() || info.size_unparsable.has_value()) == (size != nullptr));
  FUZZ_CHECK(!(info.size_limit && info.size_unparsable));
  if (size) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(size->params.data(), size->params.data() + size->params.size(), n);
    bool number = ec == std::errc() && end == size->params.data() + size->params.size();
    if (size->params.empty()) FUZZ_CHECK(info.size_limit == 0u);
    else if (number) FUZZ_CHECK(info.size_limit == n);
    else FUZZ_CHECK(info.size_unparsable == size->params);
  }

  // AUTH mechanisms: only with an AUTH line, unique, valid upper-case keywords.
  FUZZ_CHECK(info.auth_mechanisms.empty() || auth != nullptr);
  FUZZ_CHECK(unique(info.auth_mechanisms, [](const std::string& m) { return m; }));
  for (const auto& m : info.auth_mechanisms) FUZZ_CHECK(upper_keyword(m));
}

// The extensions written back as a reply parse to the same extensions.
void check_round_trip(const Reply& reply, const EhloInfo& info) {
  Reply again{250, {reply.lines.empty() ? std::string() : reply.lines.front()}};
  for (const auto& e : info.extensions) again.lines.push_back(e.params.empty() ? e.keyword : e.keyword + " " + e.params);
  EhloInfo second = parse_ehlo(again);
  check(again, second);
  FUZZ_CHECK(second.ignored_lines.empty());
  FUZZ_CHECK(second.extensions.size() == info.extensions.size());
  for (std::size_t i = 0; i < info.extensions.size(); ++i) {
    FUZZ_CHECK(second.extensions[i].keyword == info.extensions[i].keyword);
    FUZZ_CHECK(second.extensions[i].params == info.extensions[i].params);
  }
  FUZZ_CHECK(second.size_limit == info.size_limit);
  FUZZ_CHECK(second.size_unparsable == info.size_unparsable);
  // Mechanisms come from every AUTH line (and "AUTH="), the extension keeps
  // the first line only: the mechanisms of that line come first, in order.
  FUZZ_CHECK(second.auth_mechanisms.size() <= info.auth_mechanisms.size());
  FUZZ_CHECK(std::equal(second.auth_mechanisms.begin(), second.auth_mechanisms.end(), info.auth_mechanisms.begin()));
}

void run(const Reply& reply) {
  EhloInfo info = parse_ehlo(reply);
  check(reply, info);
  check_round_trip(reply, info);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view data(reinterpret_cast<const char*>(bytes), size);

  // As the probe does: a complete reply from the parser.
  ReplyParse parsed = parse_reply(data);
  if (parsed.status == ReplyParse::Status::complete) {
    FUZZ_CHECK(!parsed.reply.lines.empty());
    run(parsed.reply);
  }

  // The raw lines, whatever bytes they hold (CR LF or LF; at most 1000).
  Reply raw{250, {}};
  while (!data.empty() && raw.lines.size() < 1000) {
    std::size_t eol = data.find('\n');
    std::string_view line = data.substr(0, eol);
    if (line.ends_with('\r')) line.remove_suffix(1);
    raw.lines.emplace_back(line);
    data.remove_prefix(eol == std::string_view::npos ? data.size() : eol + 1);
  }
  run(raw);
  return 0;
}
