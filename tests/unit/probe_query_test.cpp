// /probe request parsing: query string, target and the probe deadline.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "smtp_exporter/probe_query.h"

namespace smtp_exporter::exporter {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using Params = std::map<std::string, std::string>;

TEST(PercentDecode, DecodesEscapesAndPlus) {
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_EQ(percent_decode("plain.example.com"), "plain.example.com");
  EXPECT_EQ(percent_decode("a%20b"), "a b");
  EXPECT_EQ(percent_decode("a+b"), "a b");
  EXPECT_EQ(percent_decode("%2B%2b"), "++");
  EXPECT_EQ(percent_decode("host%3A25%3a"), "host:25:");
  EXPECT_EQ(percent_decode("%00%ff"), "\0\xff"s);
}

TEST(PercentDecode, RejectsMalformedEscapes) {
  for (const char* text : {"%", "%4", "%zz", "%4g", "%g4", "100%", "a%2", "%%41"})
    EXPECT_EQ(percent_decode(text), std::nullopt) << text;
}

std::optional<Params> query(std::string_view text, std::string& error) { return parse_query(text, error); }

TEST(ParseQuery, SplitsAndDecodes) {
  std::string error;
  EXPECT_EQ(query("target=mail.example.com%3A587&module=submission", error),
            (Params{{"target", "mail.example.com:587"}, {"module", "submission"}}));
  EXPECT_EQ(query("", error), Params{});
  EXPECT_EQ(query("tar%67et=a+b", error), (Params{{"target", "a b"}}));
  EXPECT_EQ(query("x=a=b", error), (Params{{"x", "a=b"}}));
  EXPECT_EQ(error, "");
}

TEST(ParseQuery, FirstValueWinsOnRepeats) {
  std::string error;
  EXPECT_EQ(query("target=first&module=m&target=second", error), (Params{{"target", "first"}, {"module", "m"}}));
}

TEST(ParseQuery, KeysWithoutValueAndEmptyPairs) {
  std::string error;
  EXPECT_EQ(query("debug&target=x", error), (Params{{"debug", ""}, {"target", "x"}}));
  EXPECT_EQ(query("&&target=x&&debug=&", error), (Params{{"target", "x"}, {"debug", ""}}));
}

TEST(ParseQuery, MalformedEncodingIsAnError) {
  for (const char* text : {"target=a%zz", "target=%", "a%4=1&target=x"}) {
    std::string error;
    EXPECT_EQ(query(text, error), std::nullopt) << text;
    EXPECT_EQ(error, "malformed percent-encoding in the query string") << text;
  }
}

struct TargetCase {
  std::string text;
  std::string host;
  std::optional<std::uint16_t> port;
};
void PrintTo(const TargetCase& c, std::ostream* os) { *os << c.text; }

class ParseTargetValid : public testing::TestWithParam<TargetCase> {};

TEST_P(ParseTargetValid, Parses) {
  std::string error;
  auto target = parse_target(GetParam().text, error);
  ASSERT_TRUE(target.has_value()) << GetParam().text << ": " << error;
  EXPECT_EQ(target->host, GetParam().host);
  EXPECT_EQ(target->port, GetParam().port);
}

INSTANTIATE_TEST_SUITE_P(
    Forms, ParseTargetValid,
    testing::Values(TargetCase{"mail.example.com", "mail.example.com", std::nullopt},
                    TargetCase{"mail.example.com:587", "mail.example.com", 587},
                    TargetCase{"mail.example.com.", "mail.example.com.", std::nullopt},
                    TargetCase{"localhost:1", "localhost", 1},
                    TargetCase{"smtp_relay-01.example", "smtp_relay-01.example", std::nullopt},
                    TargetCase{"192.0.2.1", "192.0.2.1", std::nullopt},
                    TargetCase{"192.0.2.1:65535", "192.0.2.1", 65535},
                    TargetCase{"[::1]", "::1", std::nullopt}, TargetCase{"[2001:db8::1]:465", "2001:db8::1", 465},
                    TargetCase{"[::ffff:192.0.2.1]:25", "::ffff:192.0.2.1", 25},
                    TargetCase{"::1", "::1", std::nullopt}, TargetCase{"2001:db8::1", "2001:db8::1", std::nullopt},
                    TargetCase{std::string(63, 'a') + ".example", std::string(63, 'a') + ".example", std::nullopt}));

struct BadTarget {
  std::string text;
  std::string error;
};
void PrintTo(const BadTarget& b, std::ostream* os) { *os << testing::PrintToString(b.text); }

class ParseTargetInvalid : public testing::TestWithParam<BadTarget> {};

TEST_P(ParseTargetInvalid, RejectsWithReason) {
  std::string error;
  auto target = parse_target(GetParam().text, error);
  EXPECT_FALSE(target.has_value()) << GetParam().text;
  EXPECT_EQ(error, GetParam().error);
}

const std::string kBadChars = "target contains a space, a control character or a non-ASCII byte";
std::string kNotCanonical(const std::string& host) {
  return "\"" + host +
         "\" is not an IPv4 address in canonical form (four decimal numbers from 0 to 255 without leading zeros, "
         "e.g. 192.0.2.25)";
}
const std::string k253 = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                         std::string(63, 'd');  // 255 characters

INSTANTIATE_TEST_SUITE_P(
    Errors, ParseTargetInvalid,
    testing::Values(
        BadTarget{"", "target is empty"},
        BadTarget{"host:0", "port \"0\" is not a number from 1 to 65535"},
        BadTarget{"host:65536", "port \"65536\" is not a number from 1 to 65535"},
        BadTarget{"host:smtp", "port \"smtp\" is not a number from 1 to 65535"},
        BadTarget{"host:", "port \"\" is not a number from 1 to 65535"},
        BadTarget{"host:-25", "port \"-25\" is not a number from 1 to 65535"},
        BadTarget{"[::1]:99999", "port \"99999\" is not a number from 1 to 65535"},
        BadTarget{"[::1", "target has '[' without a closing ']'"},
        BadTarget{"[not-v6]:25", "\"not-v6\" in brackets is not an IPv6 address"},
        BadTarget{"[192.0.2.1]", "\"192.0.2.1\" in brackets is not an IPv6 address"},
        BadTarget{"[::1]25", "expected \":PORT\" after the IPv6 address"},
        BadTarget{"host:25:26",
                  "target is neither HOST:PORT nor an IPv6 address (write IPv6 with a port as [ADDRESS]:PORT)"},
        BadTarget{"host\r\nQUIT", kBadChars}, BadTarget{"mail example.com", kBadChars},
        BadTarget{"m\xc3\xa4il.example", kBadChars}, BadTarget{"host\0"s, kBadChars},
        BadTarget{"a..b", "\"a..b\" is not a valid host name or IPv4 address"},
        BadTarget{".example", "\".example\" is not a valid host name or IPv4 address"},
        BadTarget{"host/path", "\"host/path\" is not a valid host name or IPv4 address"},
        BadTarget{std::string(64, 'a') + ".example:25",
                  "\"" + std::string(64, 'a') + ".example\" is not a valid host name or IPv4 address"},
        BadTarget{k253.substr(0, 254), "\"" + k253.substr(0, 254) + "\" is not a valid host name or IPv4 address"},
        BadTarget{std::string(301, 'a'), "target is longer than 300 characters"},
        // Numeric forms a resolver reads its own way (inet_aton, c-ares): never looked up.
        BadTarget{"0177.0.0.1", kNotCanonical("0177.0.0.1")}, BadTarget{"127.1", kNotCanonical("127.1")},
        BadTarget{"2130706433", kNotCanonical("2130706433")}, BadTarget{"0x7f000001", kNotCanonical("0x7f000001")},
        BadTarget{"0X7F.1:25", kNotCanonical("0X7F.1")}, BadTarget{"127.0.0.1.", kNotCanonical("127.0.0.1.")},
        BadTarget{"127.000.0.1", kNotCanonical("127.000.0.1")}, BadTarget{"1.2.3.4.5", kNotCanonical("1.2.3.4.5")},
        BadTarget{"256.0.0.1", kNotCanonical("256.0.0.1")}, BadTarget{"example.0x", kNotCanonical("example.0x")}));

TEST(ParseTarget, NamesWithDigitsThatDoNotEndInANumberAreHostNames) {
  std::string error;
  for (const char* name : {"127.0.0.1.example", "0x7f.example", "mx1.example.com", "123abc", "1.2.3.4a"}) {
    auto target = parse_target(name, error);
    ASSERT_TRUE(target.has_value()) << name << ": " << error;
    EXPECT_EQ(target->host, name);
  }
}

TEST(ParseTarget, LongestNameIsAccepted) {
  std::string error;
  auto target = parse_target(k253.substr(0, 253), error);
  ASSERT_TRUE(target.has_value()) << error;
  EXPECT_EQ(target->host, k253.substr(0, 253));
}

std::optional<std::chrono::milliseconds> timeout(std::chrono::milliseconds module, const std::string* header,
                                                 std::string& error) {
  return probe_timeout(module, header, 0.5, error);
}

TEST(ProbeTimeout, WithoutHeaderTheModuleTimeoutApplies) {
  std::string error;
  EXPECT_EQ(timeout(10s, nullptr, error), 10s);
  EXPECT_EQ(timeout(1500ms, nullptr, error), 1500ms);
}

TEST(ProbeTimeout, ScrapeTimeoutMinusOffsetBoundsTheModuleTimeout) {
  std::string error;
  const std::string ten = "10", three = "3", small = "0.3", half = "0.5", tiny = "1e-9";
  EXPECT_EQ(timeout(10s, &ten, error), 9500ms);
  EXPECT_EQ(timeout(5s, &ten, error), 5s);
  EXPECT_EQ(timeout(10s, &three, error), 2500ms);
  // Offset not smaller than the scrape timeout: the scrape timeout itself.
  EXPECT_EQ(timeout(10s, &small, error), 300ms);
  EXPECT_EQ(timeout(10s, &half, error), 500ms);
  EXPECT_EQ(timeout(10s, &tiny, error), 1ms);
  EXPECT_EQ(probe_timeout(10s, &ten, 0, error), 10s);
  EXPECT_EQ(probe_timeout(20s, &ten, 0.25, error), 9750ms);
  EXPECT_EQ(error, "");
}

// Found by the probe_query fuzzer (tests/fuzz/corpus/probe_query/scrape_timeout_huge):
// a scrape timeout too large for a long long of milliseconds gave a 1 ms deadline.
TEST(ProbeTimeout, HugeScrapeTimeoutKeepsTheModuleTimeout) {
  std::string error;
  for (const char* value : {"1e300", "9.3e15", "1e19", "1.7976931348623157e308"}) {
    const std::string header = value;
    EXPECT_EQ(timeout(10s, &header, error), 10s) << value;
  }
  EXPECT_EQ(error, "");
}

TEST(ProbeTimeout, InvalidHeaderIsAnError) {
  for (const char* value : {"abc", "-1", "0", "", "inf", "nan", "10s", "1e999", "-0"}) {
    std::string error;
    const std::string header = value;
    EXPECT_EQ(timeout(10s, &header, error), std::nullopt) << value;
    EXPECT_EQ(error, "invalid X-Prometheus-Scrape-Timeout-Seconds header: not a positive number of seconds")
        << value;
  }
}

}  // namespace
}  // namespace smtp_exporter::exporter
