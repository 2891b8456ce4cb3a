// The one base64 of the exporter (SMTP AUTH and HTTP basic authentication).
#include <gtest/gtest.h>

#include "smtp_exporter/base64.h"

namespace smtp_exporter {
namespace {

TEST(Base64, Rfc4648TestVectors) {  // RFC 4648, section 10
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded) << plain;
    EXPECT_EQ(base64_decode(encoded), plain) << encoded;
  }
}

TEST(Base64, EveryByteRoundTrips) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (std::size_t length = 0; length <= all.size(); length += 37) {
    const std::string data = all.substr(all.size() - length);
    EXPECT_EQ(base64_decode(base64_encode(data)), data) << length;
  }
  EXPECT_EQ(base64_encode("\xff\xfe\xfd"), "//79");
  EXPECT_EQ(base64_decode("+/+/"), std::string("\xfb\xff\xbf"));
}

TEST(Base64, MalformedInputIsRejected) {
  for (std::string_view bad : {
           "Zg", "Zg=", "Zm9vY", "Zm9vYg=",          // length not a multiple of 4
           "Z===", "====", "Zm==Zm==", "Zg==Zg",      // too much padding, data after padding
           "Zm=v", "=m9v", "Zm9v=AAA",                // "=" before the end
           "Zm9-", "Zm9_", "Zm9.", "Zm*v", "Zm9\xc3", // outside the alphabet (base64url, other bytes)
           " Zm9v", "Zm9v ", "Zm9\n", "Zm9v\r\n", "Zm 9v", // white space is not skipped
       })
    EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
  EXPECT_EQ(base64_decode(std::string_view("Zm9\0", 4)), std::nullopt);
}

TEST(Base64, PaddingIsNotDecodedAsData) {
  EXPECT_EQ(base64_decode("AA==")->size(), 1u);
  EXPECT_EQ(base64_decode("AAA=")->size(), 2u);
  EXPECT_EQ(base64_decode("AAAA")->size(), 3u);
  EXPECT_EQ(base64_decode("AA=="), std::string(1, '\0'));
}

}  // namespace
}  // namespace smtp_exporter
