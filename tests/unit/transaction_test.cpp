// SASL encodings, enhanced status codes and the test message text.
#include <gtest/gtest.h>

#include "sasl.h"
#include "smtp_reply.h"
#include "test_message.h"

namespace smtp_exporter::probes {
namespace {

TEST(Base64, RoundTrip) {
  EXPECT_EQ(base64_encode(std::string("\0u\0p", 4)), "AHUAcA==");
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_decode("AHUAcA=="), std::string("\0u\0p", 4));
  EXPECT_EQ(base64_decode("PDEyMzQ1LjY3OEBmYWtlLnRlc3Q+"), "<12345.678@fake.test>");
  EXPECT_EQ(base64_decode("abc"), std::nullopt);
  EXPECT_EQ(base64_decode("a*c="), std::nullopt);
}

TEST(CramMd5, Rfc2195Example) {
  EXPECT_EQ(cram_md5_response("tim", "tanstaaftanstaaf", "<1896.697170952@postoffice.reston.mci.net>"),
            "tim b913a602c7eda7a495b4e6e7334d3890");
}

TEST(Mechanism, FirstPreferredThatIsOffered) {
  EXPECT_EQ(choose_mechanism({"CRAM-MD5", "LOGIN", "PLAIN"}, {"PLAIN", "login"}), "LOGIN");
  EXPECT_EQ(choose_mechanism({"PLAIN"}, {"GSSAPI"}), "");
}

TEST(EnhancedStatusCode, Parsed) {
  EXPECT_EQ(enhanced_status_code(535, "5.7.8 Authentication credentials invalid"), "5.7.8");
  EXPECT_EQ(enhanced_status_code(250, "2.0.0"), "2.0.0");
  EXPECT_EQ(enhanced_status_code(452, "4.5.3 Too many recipients"), "4.5.3");
  EXPECT_EQ(enhanced_status_code(550, "4.7.1 class mismatch"), "");
  EXPECT_EQ(enhanced_status_code(250, "fake.test Hello"), "");
  EXPECT_EQ(enhanced_status_code(250, "2.1234.0 x"), "");
  EXPECT_EQ(enhanced_status_code(250, "2.1.0x"), "");
}

TEST(Token, SixLowerAlphanumerics) {
  for (int i = 0; i < 20; ++i) {
    std::string t = random_token();
    ASSERT_EQ(t.size(), 6u);
    for (char c : t) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) << t;
  }
}

TEST(Message, HeadersAndDotStuffing) {
  config::SendConfig send;
  send.from = "a@x.test";
  send.to = {"b@y.test"};
  send.body = ".starts\r\nmiddle\n..two\n";
  auto fields = message_fields(std::chrono::system_clock::from_time_t(1700000000), "abc123", "[127.0.0.1]");
  EXPECT_EQ(fields.timestamp, "2023-11-14T22:13:20Z");
  EXPECT_EQ(fields.date, "Tue, 14 Nov 2023 22:13:20 +0000");
  EXPECT_EQ(build_message(send, fields),
            "From: <a@x.test>\r\nTo: <b@y.test>\r\nSubject: [smtp_exporter] 2023-11-14T22:13:20Z abc123\r\n"
            "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
            "Message-ID: <smtp-exporter.abc123.20231114T221320Z@127.0.0.1>\r\n"
            "X-Smtp-Exporter-Token: abc123; sent=1700000000\r\n\r\n"
            "..starts\r\nmiddle\r\n...two\r\n.\r\n");
}

}  // namespace
}  // namespace smtp_exporter::probes
