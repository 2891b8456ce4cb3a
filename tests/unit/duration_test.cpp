// Prometheus durations: the grammar of prometheus/common's model.ParseDuration.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

#include "smtp_exporter/config.h"

namespace smtp_exporter::config {
namespace {

using namespace std::chrono_literals;

struct Valid {
  const char* text;
  Duration expected;
};
void PrintTo(const Valid& v, std::ostream* os) { *os << v.text; }

class ParseDurationValid : public testing::TestWithParam<Valid> {};

TEST_P(ParseDurationValid, Parses) {
  auto parsed = parse_duration(GetParam().text);
  ASSERT_TRUE(parsed.has_value()) << GetParam().text;
  EXPECT_EQ(parsed->count(), GetParam().expected.count()) << GetParam().text;
}

constexpr auto kDay = 24h;
INSTANTIATE_TEST_SUITE_P(Grammar, ParseDurationValid,
                         testing::Values(Valid{"0", 0ms}, Valid{"0s", 0ms}, Valid{"500ms", 500ms},
                                         Valid{"10s", 10s}, Valid{"1m30s", 90s}, Valid{"1h", 1h},
                                         Valid{"2d", 2 * kDay}, Valid{"1w", 7 * kDay}, Valid{"1y", 365 * kDay},
                                         Valid{"1s500ms", 1500ms}, Valid{"1h1m1s1ms", 3661001ms},
                                         Valid{"1y1w1d1h1m1s1ms", 365 * kDay + 8 * kDay + 3661001ms}));

class ParseDurationInvalid : public testing::TestWithParam<const char*> {};

TEST_P(ParseDurationInvalid, Rejects) {
  auto parsed = parse_duration(GetParam());
  EXPECT_FALSE(parsed.has_value()) << GetParam() << " parsed as " << parsed->count() << "ms";
}

INSTANTIATE_TEST_SUITE_P(Grammar, ParseDurationInvalid,
                         testing::Values("", "10", "1.5s", "s", "ms", "10S", "10 s", " 10s", "10s ", "1s1m",
                                         "1ms1s", "1m1m", "1s1s", "-1s", "+1s", "1x", "1sm",
                                         // overflow of the integer, and of the millisecond total
                                         "99999999999999999999s", "9223372036854775807s",
                                         "292471209y", "292471208y999999999w"));

TEST(FormatDuration, RendersLargestUnitsFirst) {
  EXPECT_EQ(format_duration(0ms), "0s");
  EXPECT_EQ(format_duration(500ms), "500ms");
  EXPECT_EQ(format_duration(10s), "10s");
  EXPECT_EQ(format_duration(90s), "1m30s");
  EXPECT_EQ(format_duration(1h), "1h");
  EXPECT_EQ(format_duration(8 * kDay), "1w1d");
  EXPECT_EQ(format_duration(366 * kDay + 1001ms), "1y1d1s1ms");
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (std::int64_t ms : {0LL, 1LL, 999LL, 1000LL, 61001LL, 3600000LL, 86400000LL * 9 + 5, 86400000LL * 800 + 7})
    EXPECT_EQ(parse_duration(format_duration(Duration(ms))), Duration(ms)) << ms;
}

}  // namespace
}  // namespace smtp_exporter::config
