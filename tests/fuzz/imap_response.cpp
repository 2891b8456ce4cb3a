// libFuzzer target: IMAP server responses (probes/imap_response.cpp), parsed
// the way the client's read loop does: one response at a time, the consumed
// bytes dropped, the rest parsed again; with the default limits and with
// small ones taken from the first byte.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "imap_response.h"

using namespace smtp_exporter::probes;

namespace {

void check(const imap::Item& item, std::size_t depth, const imap::Limits& limits) {
  FUZZ_CHECK(depth <= limits.max_depth);
  if (item.kind == imap::Item::Kind::list)
    for (const auto& child : item.items) check(child, depth + 1, limits);
  else
    FUZZ_CHECK(item.items.empty());
  if (item.kind == imap::Item::Kind::atom) FUZZ_CHECK(!item.text.empty());
}

void run(std::string_view in, const imap::Limits& limits) {
  for (int n = 0; n < 1000 && !in.empty(); ++n) {
    imap::Response r;
    std::size_t used = 0;
    std::string error;
    imap::Parse p = imap::parse_response(in, used, r, error, limits);
    if (p != imap::Parse::complete) {
      FUZZ_CHECK(used == 0);
      FUZZ_CHECK((p == imap::Parse::error) == !error.empty() || p == imap::Parse::incomplete);
      // A prefix of incomplete input is incomplete too (or an error found earlier).
      if (p == imap::Parse::incomplete && in.size() > 1) {
        imap::Response shorter;
        std::size_t u = 0;
        std::string e;
        FUZZ_CHECK(imap::parse_response(in.substr(0, in.size() - 1), u, shorter, e, limits) != imap::Parse::complete);
      }
      return;
    }
    FUZZ_CHECK(used > 0 && used <= in.size());
    FUZZ_CHECK(in.substr(0, used).ends_with("\r\n"));
    for (const auto& item : r.items) check(item, 1, limits);
    if (r.type == imap::Response::Type::tagged) FUZZ_CHECK(!r.tag.empty() && !r.status.empty());
    // The readers never crash, and what they return is consistent.
    if (auto caps = imap::capabilities(r))
      for (const auto& c : *caps) FUZZ_CHECK(!c.empty());
    if (auto entry = imap::list_entry(r)) (void)entry->has_flag("\\Junk");
    (void)imap::search_numbers(r);
    (void)imap::exists(r);
    if (auto fetch = imap::fetch_data(r)) FUZZ_CHECK(fetch->header.size() <= limits.max_literal);
    // The same bytes with more after them parse to the same length.
    std::string longer(in.substr(0, used));
    longer += "* OK\r\n";
    imap::Response again;
    std::size_t used_again = 0;
    std::string e;
    FUZZ_CHECK(imap::parse_response(longer, used_again, again, e, limits) == imap::Parse::complete);
    FUZZ_CHECK(used_again == used);
    in.remove_prefix(used);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  run(in, imap::Limits{});
  if (size > 0) {
    imap::Limits small;
    small.max_line = 8 + data[0] % 64;
    small.max_literal = data[0] % 32;
    small.max_depth = 1 + data[0] % 4;
    small.max_items = 1 + data[0] % 16;
    run(in.substr(1), small);
  }
  for (std::size_t i = 0; i < size && i < 64; ++i) {
    auto q = imap::quote(in.substr(0, i));
    if (q) FUZZ_CHECK(q->find('\r') == std::string::npos && q->find('\n') == std::string::npos);
  }
  return 0;
}
