// The delivery check's pure parts: IMAP responses (imap_response.h),
// Authentication-Results (auth_results.h), the token header
// (test_message.h), and the receive unit's series and findings.
#include <gtest/gtest.h>

#include "auth_results.h"
#include "checks/receive.h"
#include "imap_response.h"
#include "smtp_exporter/health.h"
#include "test_message.h"

namespace smtp_exporter::probes {
namespace {

using imap::Parse;
using imap::Response;

Response parse_one(std::string_view in, Parse expected = Parse::complete, std::size_t* used_out = nullptr) {
  Response r;
  std::size_t used = 0;
  std::string error;
  EXPECT_EQ(imap::parse_response(in, used, r, error), expected) << in << " error: " << error;
  if (used_out) *used_out = used;
  return r;
}

TEST(ImapResponse, GreetingWithCapabilityCode) {
  auto r = parse_one("* OK [CAPABILITY IMAP4rev1 SASL-IR IDLE STARTTLS AUTH=PLAIN] Dovecot ready.\r\n");
  EXPECT_EQ(r.type, Response::Type::untagged);
  EXPECT_EQ(r.status, "OK");
  EXPECT_EQ(r.text, "Dovecot ready.");
  auto caps = imap::capabilities(r);
  ASSERT_TRUE(caps);
  EXPECT_EQ(*caps, (std::vector<std::string>{"IMAP4REV1", "SASL-IR", "IDLE", "STARTTLS", "AUTH=PLAIN"}));
}

TEST(ImapResponse, TaggedStatusAndCapabilityData) {
  auto r = parse_one("a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
  EXPECT_EQ(r.type, Response::Type::tagged);
  EXPECT_EQ(r.tag, "a1");
  EXPECT_EQ(r.status, "NO");
  EXPECT_EQ(r.code, (std::vector<std::string>{"AUTHENTICATIONFAILED"}));
  auto c = parse_one("* CAPABILITY IMAP4rev1 UIDPLUS SPECIAL-USE idle\r\n");
  ASSERT_TRUE(imap::capabilities(c));
  EXPECT_EQ(imap::capabilities(c)->back(), "IDLE");
  EXPECT_FALSE(imap::capabilities(r));
  auto p = parse_one("* OK [PERMANENTFLAGS (\\Answered \\Deleted \\*)] Flags permitted.\r\n");
  EXPECT_EQ(p.code.front(), "PERMANENTFLAGS");
}

TEST(ImapResponse, ContinuationAndIncomplete) {
  auto r = parse_one("+ idling\r\n");
  EXPECT_EQ(r.type, Response::Type::continuation);
  EXPECT_EQ(r.text, "idling");
  parse_one("* OK partial", Parse::incomplete);
  parse_one("", Parse::incomplete);
  parse_one("* 1 FETCH (UID 5 BODY[HEADER] {10}\r\nabc", Parse::incomplete);
}

TEST(ImapResponse, ListWithSpecialUse) {
  auto r = parse_one("* LIST (\\HasNoChildren \\Junk) \".\" Junk\r\n");
  auto entry = imap::list_entry(r);
  ASSERT_TRUE(entry);
  EXPECT_TRUE(entry->has_flag("\\junk"));
  EXPECT_EQ(entry->delimiter, ".");
  EXPECT_EQ(entry->name, "Junk");
  auto quoted = imap::list_entry(parse_one("* LIST () NIL \"Spam \\\"box\\\"\"\r\n"));
  ASSERT_TRUE(quoted);
  EXPECT_EQ(quoted->delimiter, "");
  EXPECT_EQ(quoted->name, "Spam \"box\"");
  auto literal = imap::list_entry(parse_one("* LIST (\\Junk) \"/\" {4}\r\nJunk\r\n"));
  ASSERT_TRUE(literal);
  EXPECT_EQ(literal->name, "Junk");
  EXPECT_FALSE(imap::list_entry(parse_one("* 3 EXISTS\r\n")));
}

TEST(ImapResponse, SearchExistsFetch) {
  auto s = imap::search_numbers(parse_one("* SEARCH 4 7 9\r\n"));
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, (std::vector<std::uint32_t>{4, 7, 9}));
  auto empty = imap::search_numbers(parse_one("* SEARCH\r\n"));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(imap::search_numbers(parse_one("* SEARCH 4 x\r\n")));
  EXPECT_EQ(imap::exists(parse_one("* 12 EXISTS\r\n")), 12u);
  std::string header = "X-Smtp-Exporter-Token: abc123; sent=100\r\n\r\n";
  std::string in = "* 3 FETCH (UID 42 BODY[HEADER.FIELDS (X-SMTP-EXPORTER-TOKEN AUTHENTICATION-RESULTS)] {" +
                   std::to_string(header.size()) + "}\r\n" + header + ")\r\na5 OK done\r\n";
  std::size_t used = 0;
  auto f = parse_one(in, Parse::complete, &used);
  EXPECT_EQ(in.substr(used), "a5 OK done\r\n");
  auto data = imap::fetch_data(f);
  ASSERT_TRUE(data);
  EXPECT_EQ(data->sequence, 3u);
  EXPECT_EQ(data->uid, 42u);
  EXPECT_EQ(data->header, header);
}

TEST(ImapResponse, Malformed) {
  for (std::string_view bad : std::initializer_list<std::string_view>{"* LIST (a b\r\n", "* LIST a b)\r\n", "a1 HELLO\r\n", "* {x}\r\n", "* OK\n",
                               "* \"unterminated\r\n", "* 1 FETCH (BODY[ x\r\n", std::string_view("* A\0B\r\n", 7)})
    parse_one(bad, Parse::error);
  imap::Limits small;
  small.max_literal = 4;
  Response r;
  std::size_t used = 0;
  std::string error;
  EXPECT_EQ(imap::parse_response("* 1 FETCH (BODY[] {5}\r\nhello)\r\n", used, r, error, small), Parse::error);
  EXPECT_NE(error.find("literal"), std::string::npos);
  small.max_line = 8;
  EXPECT_EQ(imap::parse_response("* OK 123456789", used, r, error, small), Parse::error);
  small.max_depth = 2;
  small.max_line = 1000;
  EXPECT_EQ(imap::parse_response("* X (((a)))\r\n", used, r, error, small), Parse::error);
}

TEST(ImapResponse, Quote) {
  EXPECT_EQ(imap::quote("INBOX"), "INBOX");
  EXPECT_EQ(imap::quote("probe@example.test"), "probe@example.test");
  EXPECT_EQ(imap::quote("pa ss\"\\"), "\"pa ss\\\"\\\\\"");
  EXPECT_EQ(imap::quote(""), "\"\"");
  EXPECT_FALSE(imap::quote("a\r\nb"));
}

TEST(AuthResults, OnlyTheConfiguredAuthservId) {
  std::string block =
      "Received: from x\r\n"
      "Authentication-Results: evil.example; dmarc=pass header.from=example.test\r\n"
      "Authentication-Results: mail.example.test; spf=fail smtp.mailfrom=probe@example.test;\r\n"
      "\tdkim=fail (signature bad) header.d=example.test; dmarc=fail header.from=example.test\r\n"
      "Subject: x\r\n";
  auto all = parse_authentication_results(block);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].authserv_id, "evil.example");
  auto trusted = trusted_auth_results(block, "MAIL.example.test");
  ASSERT_EQ(trusted.size(), 3u);
  EXPECT_EQ(trusted[0].method, "spf");
  EXPECT_EQ(trusted[0].result, "fail");
  EXPECT_EQ(trusted[1].method, "dkim");
  EXPECT_EQ(trusted[2].method, "dmarc");
  EXPECT_EQ(trusted[2].result, "fail");
  EXPECT_TRUE(trusted_auth_results(block, "").empty());
  EXPECT_TRUE(trusted_auth_results(block, "other.example").empty());
}

TEST(AuthResults, CommentsVersionsNoResultAndUnknownValues) {
  auto f = parse_authentication_results(
      "authentication-results: (comment) mx.example.org 1 (x;y); spf = pass (sender ok) smtp.mailfrom=a@b;"
      " dkim/1=PASS header.i=@b; dmarc=weird; arc=pass; iprev=pass\r\n");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].authserv_id, "mx.example.org");
  ASSERT_EQ(f[0].results.size(), 5u);
  EXPECT_EQ(f[0].results[0].method, "spf");
  EXPECT_EQ(f[0].results[0].result, "pass");
  EXPECT_EQ(f[0].results[1].result, "pass");
  auto trusted = trusted_auth_results(
      "Authentication-Results: mx.example.org; spf=pass; dkim=pass; dkim=pass; dmarc=weird; arc=pass\r\n", "mx.example.org");
  ASSERT_EQ(trusted.size(), 3u);  // dkim once; arc is not reported
  EXPECT_EQ(trusted[2].result, "other");
  auto none = parse_authentication_results("Authentication-Results: mx.example.org; none\r\n");
  ASSERT_EQ(none.size(), 1u);
  EXPECT_TRUE(none[0].results.empty());
  EXPECT_TRUE(parse_authentication_results("Authentication-Results: (unclosed; spf=pass\r\n").empty());
  // The header ends at the first empty line.
  EXPECT_TRUE(parse_authentication_results("Subject: x\r\n\r\nAuthentication-Results: a; spf=pass\r\n").empty());
}

TEST(TokenHeader, WrittenParsedAndFound) {
  MessageFields fields = message_fields(std::chrono::system_clock::from_time_t(1700000000), "abc123", "mx.example");
  EXPECT_EQ(token_header_value(fields), "abc123; sent=1700000000");
  auto parsed = parse_token_header(" abc123; sent=1700000000 ");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->token, "abc123");
  EXPECT_EQ(parsed->sent_unix, 1700000000);
  EXPECT_FALSE(parse_token_header("abc123; sent=x"));
  EXPECT_FALSE(parse_token_header("a b"));
  EXPECT_FALSE(parse_token_header(""));
  EXPECT_EQ(parse_token_header("xyz")->sent_unix, 0);
  config::SendConfig send;
  send.from = "a@example.test";
  send.to = {"b@example.test"};
  std::string message = build_message(send, fields);
  EXPECT_NE(message.find("\r\nX-Smtp-Exporter-Token: abc123; sent=1700000000\r\n"), std::string::npos);
  EXPECT_EQ(token_header_in(message), " abc123; sent=1700000000");
  EXPECT_EQ(token_header_in("Subject: x\r\n\r\nX-Smtp-Exporter-Token: no\r\n"), "");
}

ProbeResult with_section(ReceiveSection s) {
  ProbeResult r;
  r.sections.insert_or_assign("receive", std::move(s));
  return r;
}

double value_of(const std::vector<Series>& series, std::string_view name,
                std::vector<std::pair<std::string, std::string>> labels = {}) {
  for (const auto& s : series)
    if (s.name == name && s.labels == labels) return s.value;
  ADD_FAILURE() << "no series " << name;
  return -1;
}

TEST(ReceiveUnit, SeriesOfADeliveryToInbox) {
  ReceiveSection s;
  s.found = true;
  s.folder = "inbox";
  s.roundtrip_seconds = 0.5;
  s.auth_results = {{"spf", "pass"}, {"dmarc", "pass"}};
  std::vector<Series> out;
  receive_check().series(with_section(s), out);
  EXPECT_EQ(value_of(out, "probe_smtp_delivery_success"), 1);
  EXPECT_EQ(value_of(out, "probe_smtp_delivery_roundtrip_seconds"), 0.5);
  EXPECT_EQ(value_of(out, "probe_smtp_delivery_folder", {{"folder", "inbox"}}), 1);
  EXPECT_EQ(value_of(out, "probe_smtp_delivery_folder", {{"folder", "junk"}}), 0);
  EXPECT_EQ(value_of(out, "probe_smtp_delivery_auth_result", {{"method", "dmarc"}, {"result", "pass"}}), 1);
  std::vector<Finding> findings;
  receive_check().findings(with_section(s), config::Module{}, findings);
  EXPECT_TRUE(findings.empty());
  out.clear();
  receive_check().series(ProbeResult{}, out);
  EXPECT_TRUE(out.empty());
}

TEST(ReceiveUnit, JunkIsTheFailureDeliveredToJunkNotAFindingDmarcFailAndLateAreDegraded) {
  ReceiveSection s;
  s.found = true;
  s.folder = "junk";
  s.roundtrip_seconds = 1;
  s.auth_results = {{"dmarc", "fail"}};
  s.late = 2;
  std::vector<Finding> findings;
  receive_check().findings(with_section(s), config::Module{}, findings);
  ASSERT_EQ(findings.size(), 2u);  // Junk is reported once: as the probe's failure (below)
  EXPECT_EQ(findings[0].key, "delivery/dmarc_fail");
  EXPECT_EQ(findings[1].key, "delivery/late");
  for (const auto& f : findings) EXPECT_EQ(f.severity, Health::degraded);
  // The probe's verdict with the unit's failure: degraded, the failure first, no Junk finding.
  ProbeResult junk = with_section(s);
  junk.failure = Failure{Stage::receive, FailureReason::delivered_to_junk, "in Junk"};
  HealthVerdict verdict = classify_health(junk, config::Module{});
  EXPECT_EQ(verdict.status, Health::degraded);
  ASSERT_EQ(verdict.entries.size(), 3u);
  EXPECT_EQ(verdict.entries[0].key, "");  // the failure
  EXPECT_EQ(verdict.entries[0].severity, Health::degraded);
  EXPECT_EQ(verdict.findings[0], "receive failed (delivered_to_junk): in Junk");
  // Found in Junk: delivery_success stays 1, the folder is junk, the round trip is there.
  std::vector<Series> junk_series;
  receive_check().series(junk, junk_series);
  EXPECT_EQ(value_of(junk_series, "probe_smtp_delivery_success"), 1);
  EXPECT_EQ(value_of(junk_series, "probe_smtp_delivery_folder", {{"folder", "junk"}}), 1);
  EXPECT_EQ(value_of(junk_series, "probe_smtp_delivery_roundtrip_seconds"), 1);
  std::vector<Series> out;
  ReceiveSection lost;
  lost.folder = "none";
  receive_check().series(with_section(lost), out);
  EXPECT_EQ(value_of(out, "probe_smtp_delivery_success"), 0);
  EXPECT_EQ(value_of(out, "probe_smtp_delivery_folder", {{"folder", "none"}}), 1);
  for (const auto& series : out) EXPECT_NE(series.name, "probe_smtp_delivery_roundtrip_seconds");
}

// An agent target's totals (probes::tally_series): every round trip seen in
// the histogram, the late messages summed; nothing without a receive section.
TEST(ReceiveUnit, TallyOfATargetsRuns) {
  std::vector<Series> totals;
  tally_series(ProbeResult{}, totals);
  EXPECT_TRUE(totals.empty());
  ReceiveSection fast;
  fast.found = true;
  fast.folder = "inbox";
  fast.roundtrip_seconds = 0.3;
  ReceiveSection lost;
  lost.folder = "none";
  lost.late = 2;
  ReceiveSection slow = fast;
  slow.roundtrip_seconds = 400;
  slow.late = 1;
  for (const auto& s : {fast, lost, slow}) tally_series(with_section(s), totals);
  ASSERT_EQ(totals.size(), 2u);
  const Series& histogram = totals[0];
  EXPECT_EQ(histogram.name, "smtp_exporter_delivery_roundtrip_seconds");
  EXPECT_FALSE(histogram.counter);
  EXPECT_DOUBLE_EQ(histogram.value, 400.3);
  ASSERT_EQ(histogram.bucket_counts.size(), histogram.bucket_bounds.size() + 1);
  EXPECT_EQ(histogram.bucket_counts[1], 1);      // 0.3 in (0.25, 0.5]
  EXPECT_EQ(histogram.bucket_counts.back(), 1);  // 400 in +Inf
  double observations = 0;
  for (double c : histogram.bucket_counts) observations += c;
  EXPECT_EQ(observations, 2);  // the lost message has no round trip
  EXPECT_EQ(totals[1].name, "smtp_exporter_delivery_late_total");
  EXPECT_TRUE(totals[1].counter);
  EXPECT_EQ(totals[1].value, 3);
  // Nothing process-wide any more: the agent labels the totals by target.
  std::vector<Series> process;
  receive_check().process_series(process);
  EXPECT_TRUE(process.empty());
}

}  // namespace
}  // namespace smtp_exporter::probes
