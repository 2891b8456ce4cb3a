// libFuzzer target: MTA-STS and TLS-RPT texts (probes/mta_sts_policy.cpp).
// The input is a policy body; split at 0x00 bytes it is also a TXT answer
// (one record per part) for parse_sts_record and parse_tlsrpt_record.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "mta_sts_policy.h"

using namespace smtp_exporter::probes;

namespace {

bool printable(const std::string& s) {
  for (char c : s)
    if (c < 0x20 || c >= 0x7f) return false;
  return true;
}

bool same(const StsPolicy& a, const StsPolicy& b) {
  return a.mode == b.mode && a.mx == b.mx && a.max_age == b.max_age && a.unknown_keys == b.unknown_keys &&
         a.errors.size() == b.errors.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  StsPolicy p = parse_sts_policy(body);
  for (const auto& e : p.errors) FUZZ_CHECK(printable(e) && !e.empty());
  for (const auto& k : p.unknown_keys) FUZZ_CHECK(printable(k));
  for (const auto& m : p.mx) {
    FUZZ_CHECK(valid_mx_pattern(m));
    if (m.starts_with("*.")) {
      FUZZ_CHECK(mx_pattern_matches(m, "a" + m.substr(1)));
      FUZZ_CHECK(!mx_pattern_matches(m, "a.b" + m.substr(1)));
      FUZZ_CHECK(!mx_pattern_matches(m, m.substr(2)));
    } else {
      FUZZ_CHECK(mx_pattern_matches(m, m));
    }
  }
  if (p.valid()) {
    FUZZ_CHECK(p.mode.has_value());
    FUZZ_CHECK(p.max_age && *p.max_age >= 0 && *p.max_age <= kStsMaxAgeLimit);
    FUZZ_CHECK(*p.mode == StsMode::none || !p.mx.empty());
  }
  // LF and CRLF line ends parse alike.
  if (body.find('\r') == std::string::npos) {
    std::string crlf;
    for (char c : body) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    FUZZ_CHECK(same(p, parse_sts_policy(crlf)));
  }

  std::vector<std::string> texts(1);
  for (char c : body) {
    if (c == '\0')
      texts.emplace_back();
    else
      texts.back() += c;
  }
  StsRecord sts = parse_sts_record(texts);
  FUZZ_CHECK(printable(sts.error));
  FUZZ_CHECK(sts.records >= 0 && static_cast<std::size_t>(sts.records) <= texts.size());
  if (sts.valid()) {
    FUZZ_CHECK(sts.records == 1);
    FUZZ_CHECK(!sts.id.empty() && sts.id.size() <= 32);
    for (char c : sts.id) FUZZ_CHECK(std::isalnum(static_cast<unsigned char>(c)));
  } else {
    FUZZ_CHECK(sts.id.empty() || sts.records == 1);
  }
  TlsRptRecord rpt = parse_tlsrpt_record(texts);
  FUZZ_CHECK(printable(rpt.error));
  if (rpt.valid()) {
    FUZZ_CHECK(rpt.records == 1 && !rpt.rua.empty());
    for (const auto& uri : rpt.rua) FUZZ_CHECK(uri.size() > 6 && printable(uri));
  } else {
    FUZZ_CHECK(rpt.rua.empty());
  }
  std::string shown = sts_printable(body, 40);
  FUZZ_CHECK(printable(shown) && shown.size() <= 40 + 4 + 3);
  return 0;
}
