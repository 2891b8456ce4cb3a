// Content-Encoding: gzip of the exposition: which Accept-Encoding values allow
// it, and that the output is a gzip stream of the input.
#include <gtest/gtest.h>

#include "http/gzip.h"

namespace smtp_exporter::exporter {
namespace {

TEST(AcceptsGzip, ListedWithAPositiveQuality) {
  for (const char* yes : {"gzip", "GZIP", "deflate, gzip", "gzip;q=0.5", "br;q=1.0, gzip ; q=0.1", "*", "x-gzip",
                          "identity, *;q=0.3"})
    EXPECT_TRUE(accepts_gzip(yes)) << yes;
  for (const char* no : {"", "identity", "deflate, br", "gzip;q=0", "gzip; q=0.0", "gzip;q=x", "*, gzip;q=0",
                         "gzipped", "*;q=0"})
    EXPECT_FALSE(accepts_gzip(no)) << no;
}

TEST(Gzip, RoundTrips) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "probe_smtp_duration_seconds{phase=\"banner\"} 0.0001" + std::to_string(i) + "\n";
  std::string packed = gzip(text);
  ASSERT_GE(packed.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(packed[0]), 0x1f);  // the gzip magic number
  EXPECT_EQ(static_cast<unsigned char>(packed[1]), 0x8b);
  EXPECT_LT(packed.size() * 4, text.size());
  EXPECT_EQ(gunzip(packed), text);
  EXPECT_EQ(gunzip(gzip("")), "");
  // Not gzip, truncated, or over the limit: nothing.
  EXPECT_FALSE(gunzip(text).has_value());
  EXPECT_FALSE(gunzip(packed.substr(0, packed.size() / 2)).has_value());
  EXPECT_FALSE(gunzip(packed, text.size() - 1).has_value());
}

}  // namespace
}  // namespace smtp_exporter::exporter
