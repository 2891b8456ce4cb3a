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
  EXPECT_EQ(o.route_prefix, "/");
  EXPECT_EQ(o.external_url, "");
  EXPECT_FALSE(o.systemd_socket);
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

TEST(ParseFlags, RoutePrefixIsNormalizedAsPrometheusDoes) {
  EXPECT_EQ(parse({"--web.route-prefix=/smtp"}).route_prefix, "/smtp");
  EXPECT_EQ(parse({"--web.route-prefix=smtp/"}).route_prefix, "/smtp");
  EXPECT_EQ(parse({"--web.route-prefix", "//a/b//"}).route_prefix, "/a/b");
  EXPECT_EQ(parse({"--web.route-prefix=/"}).route_prefix, "/");
  EXPECT_EQ(parse({"--web.route-prefix=///"}).route_prefix, "/");
  EXPECT_EQ(parse({"--web.route-prefix="}).route_prefix, "/");  // empty: not given
}

TEST(ParseFlags, ExternalUrlIsTheDefaultOfTheRoutePrefix) {
  auto o = parse({"--web.external-url=https://proxy.example.com/monitoring/smtp/"});
  EXPECT_EQ(o.external_url, "https://proxy.example.com/monitoring/smtp");
  EXPECT_EQ(o.route_prefix, "/monitoring/smtp");
  // A proxy that strips the path: the exporter serves at "/", links keep the external path.
  o = parse({"--web.external-url=https://proxy.example.com/smtp", "--web.route-prefix=/"});
  EXPECT_EQ(o.external_url, "https://proxy.example.com/smtp");
  EXPECT_EQ(o.route_prefix, "/");
  // Given in either order.
  EXPECT_EQ(parse({"--web.route-prefix=/x", "--web.external-url=http://h/y"}).route_prefix, "/x");
  EXPECT_EQ(parse({"--web.external-url=http://h:9587"}).route_prefix, "/");
  EXPECT_EQ(parse({"--web.external-url=http://h:9587/"}).external_url, "http://h:9587");
}

TEST(ParseFlags, ExternalUrlForms) {
  for (const char* url : {"http://localhost", "http://localhost:9587", "https://mail-mon.example.com/smtp",
                          "HTTPS://Example.COM/a/b", "http://192.0.2.1:80/", "https://[2001:db8::1]:8443/x",
                          "http://[::1]", "http://h/a%20b", "http://exporter_1:0"}) {
    std::string error;
    EXPECT_TRUE(parse_external_url(url, error).has_value()) << url << ": " << error;
  }
}

TEST(ParseFlags, SystemdSocketLeavesTheListenAddressesEmpty) {
  auto o = parse({"--web.systemd-socket"});
  EXPECT_TRUE(o.systemd_socket);
  EXPECT_TRUE(o.listen_addresses.empty());
  EXPECT_THAT(parse({"--web.systemd-socket", "--web.listen-address=:1"}).listen_addresses, ElementsAre(":1"));
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
        BadFlags{{"--web.external-url=ftp://h/"},
                 "--web.external-url: \"ftp://h/\": the scheme must be http:// or https://"},
        BadFlags{{"--web.external-url=example.com/smtp"},
                 "--web.external-url: \"example.com/smtp\": the scheme must be http:// or https://"},
        BadFlags{{"--web.external-url=http://"}, "--web.external-url: \"http://\": has no host"},
        BadFlags{{"--web.external-url=https:///smtp"}, "--web.external-url: \"https:///smtp\": has no host"},
        BadFlags{{"--web.external-url=http://:9587"}, "--web.external-url: \"http://:9587\": has no host"},
        BadFlags{{"--web.external-url=http://h:port"},
                 "--web.external-url: \"http://h:port\": port \"port\" is not a number from 0 to 65535"},
        BadFlags{{"--web.external-url=http://h:65536"},
                 "--web.external-url: \"http://h:65536\": port \"65536\" is not a number from 0 to 65535"},
        BadFlags{{"--web.external-url=http://h:"},
                 "--web.external-url: \"http://h:\": port \"\" is not a number from 0 to 65535"},
        BadFlags{{"--web.external-url=http://user:pw@h/"},
                 "--web.external-url: \"http://user:pw@h/\": must not contain user information"},
        BadFlags{{"--web.external-url=http://h/smtp?x=1"},
                 "--web.external-url: \"http://h/smtp?x=1\": must not have a query or fragment"},
        BadFlags{{"--web.external-url=http://h/#top"},
                 "--web.external-url: \"http://h/#top\": must not have a query or fragment"},
        BadFlags{{"--web.external-url=http://h/a b"},
                 "--web.external-url: \"http://h/a b\": the path has a character that must be percent-encoded"},
        BadFlags{{"--web.external-url=http://h$/"}, "--web.external-url: \"http://h$/\": \"h$\" is not a host name"},
        BadFlags{{"--web.external-url=http://[::1/"},
                 "--web.external-url: \"http://[::1/\": IPv6 address without ']'"},
        BadFlags{{"--web.external-url=http://[g::1]/"},
                 "--web.external-url: \"http://[g::1]/\": \"g::1\" is not an IPv6 address"},
        BadFlags{{"--web.external-url=http://[::1]x/"},
                 "--web.external-url: \"http://[::1]x/\": unexpected \"x\" after the IPv6 address"},
        BadFlags{{"--web.external-url"}, "flag --web.external-url needs a value"},
        BadFlags{{"--web.route-prefix=/a b"},
                 "--web.route-prefix: \"/a b\" has a character that cannot be in a path (space, control, '?', "
                 "'#', non-ASCII)"},
        BadFlags{{"--web.route-prefix=/a?b"},
                 "--web.route-prefix: \"/a?b\" has a character that cannot be in a path (space, control, '?', "
                 "'#', non-ASCII)"},
        BadFlags{{"--web.systemd-socket=true"}, "flag --web.systemd-socket takes no value"},
        BadFlags{{"extra"}, "unexpected argument \"extra\""},
        BadFlags{{"--config.check", "extra"}, "unexpected argument \"extra\""}));

TEST(Usage, MentionsEveryFlag) {
  const std::string text = usage();
  for (const char* flag : {"--web.listen-address=VALUE", "--config.file=VALUE", "--config.check\n",
                           "--log.level=VALUE", "--log.format=VALUE", "--timeout-offset=VALUE",
                           "--runtime.threads=VALUE", "--help\n", "--version\n", "--web.route-prefix=PATH",
                           "--web.external-url=URL", "--web.systemd-socket\n"})
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
