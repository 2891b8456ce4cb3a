// EHLO reply → service extensions (RFC 5321 §4.1.1.1), SIZE (RFC 1870), AUTH (RFC 4954).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "ehlo_reply.h"

namespace smtp_exporter::probes {
namespace {

using testing::ElementsAre;
using testing::IsEmpty;
using Pairs = std::vector<std::pair<std::string, std::string>>;

Reply reply(std::vector<std::string> lines) { return Reply{250, std::move(lines)}; }

Pairs extensions(const EhloInfo& info) {
  Pairs out;
  for (const auto& e : info.extensions) out.emplace_back(e.keyword, e.params);
  return out;
}

TEST(ParseEhlo, PostfixReply) {
  auto info = parse_ehlo(reply({"mail.example.com", "PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "STARTTLS",
                                "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"}));
  EXPECT_EQ(extensions(info), (Pairs{{"PIPELINING", ""},
                                     {"SIZE", "10240000"},
                                     {"VRFY", ""},
                                     {"ETRN", ""},
                                     {"STARTTLS", ""},
                                     {"ENHANCEDSTATUSCODES", ""},
                                     {"8BITMIME", ""},
                                     {"DSN", ""},
                                     {"SMTPUTF8", ""},
                                     {"CHUNKING", ""}}));
  EXPECT_EQ(info.size_limit, 10240000u);
  EXPECT_THAT(info.auth_mechanisms, IsEmpty());
  EXPECT_THAT(info.ignored_lines, IsEmpty());
}

TEST(ParseEhlo, GreetingOnlyHasNoExtensions) {
  auto info = parse_ehlo(reply({"mail.example.com Hello client.example.org"}));
  EXPECT_THAT(info.extensions, IsEmpty());
  EXPECT_FALSE(info.size_limit.has_value());
  EXPECT_THAT(info.auth_mechanisms, IsEmpty());
  EXPECT_THAT(info.ignored_lines, IsEmpty());
}

TEST(ParseEhlo, FirstLineIsTheGreetingNotAnExtension) {
  auto info = parse_ehlo(reply({"STARTTLS", "PIPELINING"}));
  EXPECT_EQ(extensions(info), (Pairs{{"PIPELINING", ""}}));
}

TEST(ParseEhlo, KeywordsAreCaseInsensitiveAndUpperCased) {
  auto info = parse_ehlo(reply({"mx", "pipelining", "StartTLS", "8bitmime", "x-Custom-Ext Arg Two"}));
  EXPECT_EQ(extensions(info),
            (Pairs{{"PIPELINING", ""}, {"STARTTLS", ""}, {"8BITMIME", ""}, {"X-CUSTOM-EXT", "Arg Two"}}));
}

TEST(ParseEhlo, AuthMechanisms) {
  auto info = parse_ehlo(reply({"mx", "AUTH PLAIN LOGIN", "AUTH=LOGIN"}));
  EXPECT_THAT(info.auth_mechanisms, ElementsAre("PLAIN", "LOGIN"));
  EXPECT_EQ(extensions(info), (Pairs{{"AUTH", "PLAIN LOGIN"}}));

  auto old_form = parse_ehlo(reply({"mx", "AUTH=LOGIN PLAIN", "auth cram-md5  scram-sha-256 login"}));
  EXPECT_THAT(old_form.auth_mechanisms, ElementsAre("LOGIN", "PLAIN", "CRAM-MD5", "SCRAM-SHA-256"));
  EXPECT_EQ(extensions(old_form), (Pairs{{"AUTH", "LOGIN PLAIN"}}));

  auto invalid = parse_ehlo(reply({"mx", "AUTH PLAIN <bad> -X"}));
  EXPECT_THAT(invalid.auth_mechanisms, ElementsAre("PLAIN"));
}

TEST(ParseEhlo, DuplicateKeywordsKeepTheFirst) {
  auto info = parse_ehlo(reply({"mx", "SIZE 100", "PIPELINING", "pipelining", "SIZE 200"}));
  EXPECT_EQ(extensions(info), (Pairs{{"SIZE", "100"}, {"PIPELINING", ""}}));
  EXPECT_EQ(info.size_limit, 100u);  // consistent with the SIZE extension kept
}

TEST(ParseEhlo, SizeWithoutValueOrZeroMeansNoFixedLimit) {
  for (const char* line : {"SIZE", "SIZE 0", "SIZE  "}) {
    auto info = parse_ehlo(reply({"mx", line}));
    EXPECT_EQ(info.size_limit, 0u) << line;
    EXPECT_FALSE(info.size_unparsable) << line;
  }
  auto info = parse_ehlo(reply({"mx", "SIZE 52428800 "}));
  EXPECT_EQ(info.size_limit, 52428800u);
  EXPECT_EQ(extensions(info), (Pairs{{"SIZE", "52428800"}}));
}

// A value that is not a number, or too large for 64 bits, is unparsable: not 0 ("no limit").
TEST(ParseEhlo, SizeWithUnparsableValueIsNotReportedAsNoLimit) {
  for (const char* value : {"abc", "10M", "-5", "99999999999999999999999", "18446744073709551616"}) {
    auto info = parse_ehlo(reply({"mx", std::string("SIZE ") + value}));
    EXPECT_FALSE(info.size_limit.has_value()) << value;
    EXPECT_EQ(info.size_unparsable, value);
  }
  auto info = parse_ehlo(reply({"mx", "SIZE 18446744073709551615"}));
  EXPECT_EQ(info.size_limit, 18446744073709551615u);
  // The first SIZE line wins, even when it is unparsable.
  info = parse_ehlo(reply({"mx", "SIZE 1e9", "SIZE 100"}));
  EXPECT_FALSE(info.size_limit.has_value());
}

TEST(ParseEhlo, InvalidKeywordLinesAreIgnored) {
  auto info = parse_ehlo(reply({"mx", "", "-DASH", "WITH_UNDERSCORE", "HELLO!", "\xc3\xa9T\xc3\xa9", "DSN", " 8BITMIME",
                                std::string(65, 'A')}));
  EXPECT_EQ(extensions(info), (Pairs{{"DSN", ""}, {"8BITMIME", ""}}));
  EXPECT_THAT(info.ignored_lines,
              ElementsAre("", "-DASH", "WITH_UNDERSCORE", "HELLO!", "\xc3\xa9T\xc3\xa9", std::string(65, 'A')));
}

}  // namespace
}  // namespace smtp_exporter::probes
