// Content-Encoding: gzip of the exposition: which Accept-Encoding values allow
// it, and that the output is a gzip stream of the input.
#include <gtest/gtest.h>
#include <zlib.h>

#include "gzip.h"

namespace smtp_exporter::exporter {
namespace {

std::string gunzip(const std::string& data) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);  // gzip only
  std::string out(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

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
}

}  // namespace
}  // namespace smtp_exporter::exporter
