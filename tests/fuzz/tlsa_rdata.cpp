// libFuzzer target: TLSA rdata (probes/tlsa.cpp) as a validated answer
// brings it, and the same bytes as a certificate whose public key or whole
// DER a record would be matched against.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_check.h"
#include "tlsa.h"

using namespace smtp_exporter::probes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto record = parse_tlsa_rdata(data, size);
  FUZZ_CHECK(!record || size >= 4);
  if (record) {
    FUZZ_CHECK(record->usage == data[0] && record->selector == data[1] && record->matching_type == data[2]);
    FUZZ_CHECK(record->data.size() == size - 3);
    FUZZ_CHECK(record->matching_type != 1 || record->data.size() == 32);
    FUZZ_CHECK(record->matching_type != 2 || record->data.size() == 64);
    FUZZ_CHECK(to_text(*record).size() == 6 + 2 * record->data.size() + (record->usage >= 10) +
                                              (record->usage >= 100) + (record->selector >= 10) +
                                              (record->selector >= 100) + (record->matching_type >= 10) +
                                              (record->matching_type >= 100));
    // Usable for SMTP exactly as RFC 7672 §3.1 says.
    FUZZ_CHECK(usable(*record) == ((record->usage == 2 || record->usage == 3) && record->selector <= 1 &&
                                   record->matching_type <= 2));
  } else {
    FUZZ_CHECK(size < 4 || (data[2] == 1 && size != 35) || (data[2] == 2 && size != 67));
  }

  // The input as a presented certificate: a digest has its length or nothing.
  Bytes der(data, data + size);
  Bytes spki = association(1, 1, der);
  FUZZ_CHECK(spki.empty() || spki.size() == 32);
  FUZZ_CHECK(association(0, 2, der).size() == (spki.empty() ? 0u : 64u));
  FUZZ_CHECK(association(1, 9, der).empty());
  if (record) {
    int depth = match_depth(*record, {der, der});
    FUZZ_CHECK(depth >= -1 && depth <= 1);
    FUZZ_CHECK(depth == -1 || !spki.empty());  // nothing matches what is no certificate
    std::vector<int> depths{depth};
    FUZZ_CHECK(!rollover_ready({*record}, depths));  // one record is never a rollover
  }
  return 0;
}
