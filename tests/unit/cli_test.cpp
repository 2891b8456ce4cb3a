// Command-line flags, and the escaping helpers of text.h.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "smtp_exporter/cli.h"
#include "views/text.h"

namespace smtp_exporter::exporter {
namespace {

using testing::ElementsAre;
using testing::HasSubstr;
using Args = std::vector<std::string>;

Options parse(const Args& args) {
  std::string error;
  auto options = parse_flags(args, error);
  EXPECT_TRUE(options.has_value()) << error;
  return options.value_or(Options{});
}

TEST(ParseFlags, Defaults) {
  auto o = parse({});
  EXPECT_THAT(o.listen_addresses, ElementsAre(":9587"));
  EXPECT_EQ(o.config_file, "");
  EXPECT_FALSE(o.config_check);
  EXPECT_EQ(o.log_level, "info");
  EXPECT_EQ(o.log_format, "logfmt");
  EXPECT_EQ(o.timeout_offset_seconds, 0.5);
  EXPECT_EQ(o.threads, 1u);
  EXPECT_FALSE(o.help);
  EXPECT_FALSE(o.version);
}

TEST(ParseFlags, EqualsAndSeparateValueForms) {
  for (const Args& args : {Args{"--config.file=/etc/smtp.toml", "--log.level=debug", "--log.format=json",
                                "--runtime.threads=4", "--timeout-offset=1"},
                           Args{"--config.file", "/etc/smtp.toml", "--log.level", "debug", "--log.format", "json",
                                "--runtime.threads", "4", "--timeout-offset", "1"}}) {
    auto o = parse(args);
    EXPECT_EQ(o.config_file, "/etc/smtp.toml");
    EXPECT_EQ(o.log_level, "debug");
    EXPECT_EQ(o.log_format, "json");
    EXPECT_EQ(o.threads, 4u);
    EXPECT_EQ(o.timeout_offset_seconds, 1.0);
  }
  // A value may itself contain '=' or start with "--".
  EXPECT_EQ(parse({"--config.file=a=b.toml"}).config_file, "a=b.toml");
  EXPECT_EQ(parse({"--config.file", "--weird"}).config_file, "--weird");
}

TEST(ParseFlags, RepeatedListenAddressReplacesTheDefault) {
  EXPECT_THAT(parse({"--web.listen-address=127.0.0.1:9587", "--web.listen-address", "[::1]:9588"}).listen_addresses,
              ElementsAre("127.0.0.1:9587", "[::1]:9588"));
}

TEST(ParseFlags, Switches) {
  auto o = parse({"--config.check", "--help", "--version"});
  EXPECT_TRUE(o.config_check);
  EXPECT_TRUE(o.help);
  EXPECT_TRUE(o.version);
  EXPECT_TRUE(parse({"-h"}).help);
}

TEST(ParseFlags, TimeoutOffsetInSecondsOrAsDuration) {
  EXPECT_EQ(parse({"--timeout-offset=0.25"}).timeout_offset_seconds, 0.25);
  EXPECT_EQ(parse({"--timeout-offset=250ms"}).timeout_offset_seconds, 0.25);
  EXPECT_EQ(parse({"--timeout-offset=1s500ms"}).timeout_offset_seconds, 1.5);
  EXPECT_EQ(parse({"--timeout-offset=0"}).timeout_offset_seconds, 0.0);
}

struct BadFlags {
  Args args;
  std::string error;
};
void PrintTo(const BadFlags& b, std::ostream* os) { *os << testing::PrintToString(b.args); }

class ParseFlagsError : public testing::TestWithParam<BadFlags> {};

TEST_P(ParseFlagsError, Rejects) {
  std::string error;
  EXPECT_FALSE(parse_flags(GetParam().args, error).has_value());
  EXPECT_EQ(error, GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ParseFlagsError,
    testing::Values(
        BadFlags{{"--no.such-flag"}, "unknown flag --no.such-flag"},
        BadFlags{{"--no.such-flag=1"}, "unknown flag --no.such-flag"},
        BadFlags{{"-config.file=x"}, "unexpected argument \"-config.file=x\""},
        BadFlags{{"--config.file"}, "flag --config.file needs a value"},
        BadFlags{{"--log.level=info", "--web.listen-address"}, "flag --web.listen-address needs a value"},
        BadFlags{{"--config.check=true"}, "flag --config.check takes no value"},
        BadFlags{{"--help="}, "flag --help takes no value"},
        BadFlags{{"--runtime.threads=0"}, "--runtime.threads: \"0\" is not a number from 1 to 256"},
        BadFlags{{"--runtime.threads=257"}, "--runtime.threads: \"257\" is not a number from 1 to 256"},
        BadFlags{{"--runtime.threads", "two"}, "--runtime.threads: \"two\" is not a number from 1 to 256"},
        BadFlags{{"--runtime.threads=-1"}, "--runtime.threads: \"-1\" is not a number from 1 to 256"},
        BadFlags{{"--timeout-offset=abc"}, "--timeout-offset: \"abc\" is neither seconds nor a duration"},
        BadFlags{{"--timeout-offset=-1"}, "--timeout-offset: \"-1\" is neither seconds nor a duration"},
        BadFlags{{"--timeout-offset=-1s"}, "--timeout-offset: \"-1s\" is neither seconds nor a duration"},
        BadFlags{{"--timeout-offset=inf"}, "--timeout-offset: \"inf\" is neither seconds nor a duration"},
        BadFlags{{"--timeout-offset="}, "--timeout-offset: \"\" is neither seconds nor a duration"},
        BadFlags{{"extra"}, "unexpected argument \"extra\""},
        BadFlags{{"--config.check", "extra"}, "unexpected argument \"extra\""}));

TEST(Usage, MentionsEveryFlag) {
  const std::string text = usage();
  for (const char* flag : {"--web.listen-address=VALUE", "--config.file=VALUE", "--config.check\n",
                           "--log.level=VALUE", "--log.format=VALUE", "--timeout-offset=VALUE",
                           "--runtime.threads=VALUE", "--help\n", "--version\n"})
    EXPECT_THAT(text, HasSubstr(flag));
  EXPECT_THAT(text, HasSubstr("usage: smtp_exporter [flags]"));
}

TEST(Text, JsonEscape) {
  EXPECT_EQ(json_escape("plain"), "plain");
  EXPECT_EQ(json_escape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(json_escape("l1\nl2\r\t"), "l1\\nl2\\r\\t");
  EXPECT_EQ(json_escape(std::string("\0\x1f", 2)), "\\u0000\\u001f");
  EXPECT_EQ(json_escape("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(Text, LogfmtValueQuotesOnlyWhenNeeded) {
  EXPECT_EQ(logfmt_value("smtp_banner"), "smtp_banner");
  EXPECT_EQ(logfmt_value(""), "\"\"");
  EXPECT_EQ(logfmt_value("two words"), "\"two words\"");
  EXPECT_EQ(logfmt_value("k=v"), "\"k=v\"");
  EXPECT_EQ(logfmt_value("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(logfmt_value("a\\b"), "\"a\\\\b\"");
  EXPECT_EQ(logfmt_value("line\nbreak"), "\"line\\nbreak\"");
}

TEST(Text, HtmlEscape) {
  EXPECT_EQ(html_escape("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
  EXPECT_EQ(html_escape("plain"), "plain");
}

TEST(Text, Rfc3339) {
  using namespace std::chrono;
  EXPECT_EQ(rfc3339(system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
  // 2026-11-23T14:23:28.123Z
  EXPECT_EQ(rfc3339(system_clock::time_point{sys_days{year{2026} / November / 23} + 14h + 23min + 28s + 123ms}),
            "2026-11-23T14:23:28.123Z");
  EXPECT_EQ(rfc3339(system_clock::time_point{sys_days{year{2000} / February / 29} + 23h + 59min + 59s + 999ms +
                                             999us}),
            "2000-02-29T23:59:59.999Z");
}

}  // namespace
}  // namespace smtp_exporter::exporter
