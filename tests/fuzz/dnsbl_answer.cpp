// libFuzzer target: a DNS blocklist's answer (probes/dnsbl_answer.cpp). The
// input is read as: one status byte, a count of A records and that many
// 4-byte addresses, then TXT records separated by 0x00, the last of which
// is also the "secret" a reason must not show.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dnsbl_answer.h"
#include "fuzz_check.h"

using namespace smtp_exporter::probes;

namespace {

bool printable(const std::string& s) {
  for (char c : s)
    if (c < 0x20 || c >= 0x7f) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::size_t i = 0;
  auto byte = [&]() -> std::uint8_t { return i < size ? data[i++] : 0; };
  auto status = static_cast<DnsblStatus>(byte() % 3);
  std::vector<std::uint32_t> a;
  for (int n = byte() % 16; n > 0 && i + 4 <= size; --n, i += 4)
    a.push_back(std::uint32_t(data[i]) << 24 | std::uint32_t(data[i + 1]) << 16 | std::uint32_t(data[i + 2]) << 8 |
                data[i + 3]);
  std::vector<std::string> texts(1);
  for (; i < size; ++i) {
    if (data[i] == 0)
      texts.emplace_back();
    else
      texts.back() += static_cast<char>(data[i]);
  }

  DnsblAnswer answer = classify_dnsbl_answer(status, "timeout", a);
  switch (status) {
    case DnsblStatus::not_found: FUZZ_CHECK(answer.kind == DnsblAnswer::Kind::not_listed); break;
    case DnsblStatus::failed: FUZZ_CHECK(answer.kind == DnsblAnswer::Kind::error); break;
    case DnsblStatus::answered: {
      bool all_listing_codes = !a.empty();
      for (std::uint32_t v : a)
        if ((v >> 24) != 127 || (v & 0xffffff00u) == 0x7fffff00u || v == 0x7f000001u) all_listing_codes = false;
      // A listing exactly when every code is a listing code: never an error code.
      FUZZ_CHECK((answer.kind == DnsblAnswer::Kind::listed) == all_listing_codes);
      FUZZ_CHECK(a.empty() == (answer.kind == DnsblAnswer::Kind::not_listed));
      FUZZ_CHECK(answer.codes.size() <= a.size());
      for (const auto& code : answer.codes) FUZZ_CHECK(code.size() >= 7 && code.size() <= 15);
      if (answer.kind == DnsblAnswer::Kind::listed) {
        int value = dnsbl_code_value(answer);
        FUZZ_CHECK(value >= 0 && value <= 255);
      }
      break;
    }
  }
  FUZZ_CHECK(answer.kind != DnsblAnswer::Kind::error || !answer.reason.empty());

  std::string reason = dnsbl_reason(texts);
  FUZZ_CHECK(reason.size() <= 200);
  FUZZ_CHECK(printable(reason));
  const std::string& secret = texts.back();
  std::string shown = dnsbl_redacted(reason, secret);
  // A key is one DNS label (letters, digits, '-'): gone from what is shown,
  // unless it is a part of "<key>" itself.
  bool label = !secret.empty();
  for (char c : secret)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) label = false;
  if (label && std::string("<key>").find(secret) == std::string::npos)
    FUZZ_CHECK(shown.find(secret) == std::string::npos);
  FUZZ_CHECK(printable(shown));

  std::string detail;
  DnsblAnswer none;
  ZoneHealth health = judge_zone(answer, none, detail);
  FUZZ_CHECK((health == ZoneHealth::ok) == (answer.kind == DnsblAnswer::Kind::listed));
  FUZZ_CHECK(health == ZoneHealth::ok || !detail.empty());
  return 0;
}
