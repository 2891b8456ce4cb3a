// libFuzzer target: Authentication-Results fields (probes/auth_results.cpp).
// The first line of the input is the configured authserv-id, the rest a
// header block.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth_results.h"
#include "fuzz_check.h"

using namespace smtp_exporter::probes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::size_t eol = in.find('\n');
  std::string_view id = in.substr(0, eol);
  std::string_view block = eol == std::string_view::npos ? std::string_view() : in.substr(eol + 1);
  auto fields = parse_authentication_results(block);
  for (const auto& f : fields) {
    FUZZ_CHECK(!f.authserv_id.empty());
    for (const auto& r : f.results) FUZZ_CHECK(!r.method.empty() && !r.result.empty());
  }
  auto trusted = trusted_auth_results(block, id);
  if (id.empty()) FUZZ_CHECK(trusted.empty());
  if (fields.empty()) FUZZ_CHECK(trusted.empty());
  // Bounded labels: the three methods and the registry's results (or "other").
  for (const auto& r : trusted) {
    FUZZ_CHECK(r.method == "spf" || r.method == "dkim" || r.method == "dmarc");
    for (char c : r.result) FUZZ_CHECK(c >= 'a' && c <= 'z');
    FUZZ_CHECK(r.result.size() <= 9);
  }
  return 0;
}
