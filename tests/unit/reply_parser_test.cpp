// SMTP reply parsing (RFC 5321 §4.2) and the printable() escaping it reports with.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "smtp_reply.h"

namespace smtp_exporter::probes {
namespace {

using testing::ElementsAre;
using Status = ReplyParse::Status;
using namespace std::string_literals;

TEST(ParseReply, SingleLine) {
  auto p = parse_reply("220 mail.example.com ESMTP Postfix\r\n");
  ASSERT_EQ(p.status, Status::complete) << p.error;
  EXPECT_EQ(p.reply.code, 220);
  EXPECT_THAT(p.reply.lines, ElementsAre("mail.example.com ESMTP Postfix"));
  EXPECT_EQ(p.consumed, 36u);
}

TEST(ParseReply, MultiLine) {
  auto p = parse_reply("220-a\r\n220 b\r\n");
  ASSERT_EQ(p.status, Status::complete) << p.error;
  EXPECT_EQ(p.reply.code, 220);
  EXPECT_THAT(p.reply.lines, ElementsAre("a", "b"));
  EXPECT_EQ(p.consumed, 14u);
}

TEST(ParseReply, CodeWithoutText) {
  for (const char* data : {"250\r\n", "250 \r\n"}) {
    auto p = parse_reply(data);
    ASSERT_EQ(p.status, Status::complete) << data;
    EXPECT_EQ(p.reply.code, 250);
    EXPECT_THAT(p.reply.lines, ElementsAre(""));
    EXPECT_EQ(p.consumed, std::string(data).size());
  }
}

TEST(ParseReply, BareLineFeedAccepted) {
  auto p = parse_reply("250-first\n250 last\n");
  ASSERT_EQ(p.status, Status::complete) << p.error;
  EXPECT_THAT(p.reply.lines, ElementsAre("first", "last"));
  EXPECT_EQ(p.consumed, 19u);
}

TEST(ParseReply, ConsumedStopsAtTheEndOfTheReply) {
  auto p = parse_reply("250 ok\r\n221 bye\r\n");
  ASSERT_EQ(p.status, Status::complete);
  EXPECT_EQ(p.reply.code, 250);
  EXPECT_THAT(p.reply.lines, ElementsAre("ok"));
  EXPECT_EQ(p.consumed, 8u);
}

TEST(ParseReply, NeedsMoreOnPartialInput) {
  for (const char* data : {"", "2", "22", "220", "220 hi", "220 hi\r", "220-a\r\n", "220-a\r\n220", "220-a\r\n220 b"}) {
    auto p = parse_reply(data);
    EXPECT_EQ(p.status, Status::need_more) << '"' << printable(data) << "\": " << p.error;
    EXPECT_EQ(p.consumed, 0u) << printable(data);
  }
}

struct Bad {
  std::string data;
  std::string error;
};
void PrintTo(const Bad& b, std::ostream* os) { *os << '"' << printable(b.data) << '"'; }

class ParseReplyError : public testing::TestWithParam<Bad> {};

TEST_P(ParseReplyError, Rejects) {
  auto p = parse_reply(GetParam().data);
  EXPECT_EQ(p.status, Status::error);
  EXPECT_EQ(p.error, GetParam().error);
  EXPECT_EQ(p.consumed, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    BadInput, ParseReplyError,
    testing::Values(Bad{"120 x\r\n", "not an SMTP reply: \"120 x\""}, Bad{"600 x\r\n", "not an SMTP reply: \"600 x\""},
                    Bad{"2x0 x\r\n", "not an SMTP reply: \"2x0 x\""}, Bad{"abc\r\n", "not an SMTP reply: \"abc\""},
                    Bad{"22\r\n", "not an SMTP reply: \"22\""}, Bad{"220x\r\n", "not an SMTP reply: \"220x\""},
                    Bad{"\r\n", "not an SMTP reply: \"\""},
                    Bad{"HTTP/1.1 400 Bad Request\r\n", "not an SMTP reply: \"HTTP/1.1 400 Bad Request\""},
                    Bad{"220-a\r\nxyz\r\n", "not an SMTP reply: \"xyz\""},
                    Bad{"250-a\r\n251 b\r\n", "reply code changed from 250 to 251 within one reply"},
                    Bad{"220 a\0b\r\n"s, "control characters in reply: \"220 a\\x00b\""},
                    Bad{"220 a\x1b[31m\r\n", "control characters in reply: \"220 a\\x1b[31m\""},
                    Bad{"220 a\rb\r\n", "control characters in reply: \"220 a\\x0db\""},
                    Bad{"220 del\x7f\r\n", "control characters in reply: \"220 del\\x7f\""},
                    Bad{"\x89PNG\r\n\x1a\n"s, "not an SMTP reply: \"\\x89PNG\""},
                    Bad{"\0\0\0\n"s, "not an SMTP reply: \"\\x00\\x00\\x00\""}));

// A peer speaking another protocol may never end its line (a TLS alert
// record, then silence): what cannot become a reply line fails at once.
TEST(ParseReply, RejectsAnIncompleteLineThatCannotBecomeAReply) {
  for (const std::string& data : {"\x15\x03\x03\x00\x02\x02\x28"s, "SSH-2.0-"s, "1"s, "6"s, "2x"s, "25x"s, "220x"s,
                                 "250\rx"s, "220-a\r\nHTTP"s}) {
    auto p = parse_reply(data);
    EXPECT_EQ(p.status, Status::error) << printable(data);
    EXPECT_THAT(p.error, testing::StartsWith("not an SMTP reply: ")) << printable(data);
    EXPECT_EQ(p.consumed, 0u);
  }
  EXPECT_EQ(parse_reply("\x15\x03\x03\x00\x02\x02\x28"s).error, "not an SMTP reply: \"\\x15\\x03\\x03\\x00\\x02\\x02(\"");
}

TEST(ParseReply, AllowsTabAndUtf8InText) {
  auto p = parse_reply("220 h\xc3\xa9llo\tworld\r\n");
  ASSERT_EQ(p.status, Status::complete) << p.error;
  EXPECT_THAT(p.reply.lines, ElementsAre("h\xc3\xa9llo\tworld"));
}

TEST(ParseReply, LineLengthLimitCountsTheLineEnding) {
  const ReplyLimits limits{.max_line_bytes = 10, .max_lines = 100, .max_reply_bytes = 1000};
  // "250 " + 4 + CR LF = 10 bytes: at the limit.
  EXPECT_EQ(parse_reply("250 abcd\r\n", limits).status, Status::complete);
  // One byte more, terminated or not.
  for (const char* data : {"250 abcde\r\n", "250 abcdefghij", "250-ok\r\n250 abcdefghij"}) {
    auto p = parse_reply(data, limits);
    EXPECT_EQ(p.status, Status::error) << data;
    EXPECT_EQ(p.error, "reply line longer than 10 bytes") << data;
  }
  // An unterminated line that may still end within the limit.
  EXPECT_EQ(parse_reply("250 abcd\r", limits).status, Status::need_more);
}

TEST(ParseReply, DefaultLimitsRejectOverLongLines) {
  auto ok = parse_reply("250 " + std::string(994, 'x') + "\r\n");
  EXPECT_EQ(ok.status, Status::complete);
  EXPECT_EQ(parse_reply("250 " + std::string(995, 'x') + "\r\n").error, "reply line longer than 1000 bytes");
  EXPECT_EQ(parse_reply("250 " + std::string(5000, 'x')).error, "reply line longer than 1000 bytes");
}

TEST(ParseReply, TooManyLines) {
  const ReplyLimits limits{.max_line_bytes = 100, .max_lines = 3, .max_reply_bytes = 1000};
  EXPECT_EQ(parse_reply("250-1\r\n250-2\r\n250 3\r\n", limits).status, Status::complete);
  EXPECT_EQ(parse_reply("250-1\r\n250-2\r\n250-3\r\n", limits).status, Status::need_more);
  auto p = parse_reply("250-1\r\n250-2\r\n250-3\r\n250 4\r\n", limits);
  EXPECT_EQ(p.status, Status::error);
  EXPECT_EQ(p.error, "reply has more than 3 lines");
}

TEST(ParseReply, TooManyBytes) {
  const ReplyLimits limits{.max_line_bytes = 100, .max_lines = 100, .max_reply_bytes = 20};
  EXPECT_EQ(parse_reply("250-aaaaa\r\n250 bbb\r\n", limits).status, Status::complete);  // 20 bytes
  auto p = parse_reply("250-aaaaa\r\n250 bbbb\r\n", limits);  // 21 bytes
  EXPECT_EQ(p.status, Status::error);
  EXPECT_EQ(p.error, "reply longer than 20 bytes");
}

TEST(Printable, EscapesControlBackslashAndNonAscii) {
  EXPECT_EQ(printable("plain text ~!"), "plain text ~!");
  EXPECT_EQ(printable("a\r\nb"), "a\\x0d\\x0ab");
  EXPECT_EQ(printable("back\\slash"), "back\\x5cslash");
  EXPECT_EQ(printable("\0\x7f\xff"s), "\\x00\\x7f\\xff");
  EXPECT_EQ(printable(""), "");
}

TEST(Printable, TruncatesAtMax) {
  EXPECT_EQ(printable("abcdef", 6), "abcdef");
  EXPECT_EQ(printable("abcdefg", 6), "abcdef...");
  EXPECT_EQ(printable(std::string(200, 'x')), std::string(120, 'x') + "...");
  EXPECT_EQ(printable("\x01\x02\x03", 4), "\\x01...");
}

}  // namespace
}  // namespace smtp_exporter::probes
