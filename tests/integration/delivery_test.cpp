// The receive unit against a scripted IMAP server (FakeSmtpServer plays any
// line protocol) over implicit TLS, after a scripted SMTP server accepted the
// test message: leftovers of earlier checks removed (UID EXPUNGE with
// UIDPLUS, EXPUNGE without) and counted late, a young foreign message left
// alone, a server that stalls bounded by the deadline, BYE, a refused
// login (the password never logged), a malformed response.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "checks/receive.h"
#include "fake_smtp_server.h"
#include "probe_helpers.h"
#include "test_pki.h"

namespace smtp_exporter::testing {
namespace {

using namespace std::chrono_literals;
using probes::FailureReason;
using probes::Stage;
const std::string kHost = "mail.example.test";
const std::string kPassword = "imap-Pa55-w0rd";

// A FETCH response with a header block as a literal.
std::string fetch(int uid, const std::string& header) {
  std::string block = header + "\r\n";
  return "* 1 FETCH (UID " + std::to_string(uid) +
         " BODY[HEADER.FIELDS (X-SMTP-EXPORTER-TOKEN AUTHENTICATION-RESULTS)] {" + std::to_string(block.size()) +
         "}\r\n" + block + ")\r\n";
}

class Delivery : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new TestPki();
    leaf_ = new Issued(pki_->issue({kHost, {kHost}, {"127.0.0.1"}}, pki_->root()));
  }
  static void TearDownTestSuite() {
    delete leaf_;
    delete pki_;
  }
  static TlsIdentity identity() { return {pki_->chain_file({leaf_}), leaf_->key_file}; }

  // Logged in, with `capabilities` after login; INBOX only.
  static Script logged_in(const std::string& capabilities) {
    return {start_tls(identity()),
            send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"),
            expect("a1 LOGIN"),
            send("a1 OK [CAPABILITY " + capabilities + "] Logged in\r\n"),
            expect("a2 LIST"),
            send("* LIST (\\HasNoChildren) \".\" INBOX\r\na2 OK done\r\n"),
            expect("a3 SELECT INBOX"),
            send("* 1 EXISTS\r\na3 OK [READ-WRITE] selected\r\n")};
  }

  static probes::ProbeResult probe(const FakeSmtpServer& smtp, const FakeSmtpServer& imap,
                                   std::chrono::milliseconds deadline = 3s) {
    config::Module m = test_module();
    m.send = config::SendConfig{};
    m.send->from = "probe@example.test";
    m.send->to = {"sink@example.test"};
    config::ReceiveConfig r;
    r.imap = "127.0.0.1:" + std::to_string(imap.port());
    r.imap_host = "127.0.0.1";
    r.imap_port = imap.port();
    r.tls_config.ca_file = pki_->root().cert_file;
    r.tls_config.server_name = kHost;
    r.username = "sink@example.test";
    r.password = kPassword;
    r.timeout = 1s;
    r.poll_interval = 1s;
    m.receive = r;
    return probe_port(smtp.port(), m, deadline);
  }

  static void expect_no_password(const probes::ProbeResult& r) {
    for (const auto& entry : r.log) EXPECT_EQ(entry.text.find(kPassword), std::string::npos) << entry.text;
    if (r.failure) {
      EXPECT_EQ(r.failure->detail.find(kPassword), std::string::npos);
    }
  }

  static bool received(const FakeSmtpServer& server, const std::string& prefix) {
    auto lines = server.received();
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.starts_with(prefix); });
  }

  static TestPki* pki_;
  static Issued* leaf_;
};

TestPki* Delivery::pki_ = nullptr;
Issued* Delivery::leaf_ = nullptr;

TEST_F(Delivery, LeftoverRemovedWithUidExpungeAndCountedLateAStallIsBoundedByTheDeadline) {
  FakeSmtpServer smtp(accepting_server());
  Script script = logged_in("IMAP4rev1 UIDPLUS");
  Script rest{expect("a4 UID SEARCH HEADER X-Smtp-Exporter-Token \"\""),
              send("* SEARCH 7 9\r\na4 OK\r\n"),
              expect("a5 UID FETCH 7,9"),
              // 7: an old leftover; 9: a young message of another check (a substring match too).
              send(fetch(7, "X-Smtp-Exporter-Token: old123; sent=1") +
                   fetch(9, "X-Smtp-Exporter-Token: young9x; sent=99999999999") + "a5 OK\r\n"),
              expect("a6 UID STORE 7 +FLAGS.SILENT (\\Deleted)"),
              send("a6 OK\r\n"),
              expect("a7 UID EXPUNGE 7"),
              send("* 1 EXPUNGE\r\na7 OK\r\n"),
              stall()};
  script.insert(script.end(), rest.begin(), rest.end());
  FakeSmtpServer imap(script);
  auto started = std::chrono::steady_clock::now();
  auto r = probe(smtp, imap);
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, 4s);
  expect_failure(r, Stage::receive, FailureReason::imap_error);
  const auto* s = probes::section<probes::ReceiveSection>(r, "receive");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->late, 1);
  EXPECT_EQ(s->removed, 1);
  EXPECT_FALSE(s->found);
  EXPECT_EQ(s->folder, "none");
  EXPECT_TRUE(received(imap, "a7 UID EXPUNGE 7"));
  EXPECT_EQ(imap.tls_handshakes(), 1);
  expect_no_password(r);
}

TEST_F(Delivery, WithoutUidplusExpunge) {
  FakeSmtpServer smtp(accepting_server());
  Script script = logged_in("IMAP4rev1 IDLE");
  Script rest{expect("a4 UID SEARCH"),
              send("* SEARCH 7\r\na4 OK\r\n"),
              expect("a5 UID FETCH 7"),
              send(fetch(7, "X-Smtp-Exporter-Token: old123; sent=1") + "a5 OK\r\n"),
              expect("a6 UID STORE 7"),
              send("a6 OK\r\n"),
              expect("a7 EXPUNGE"),
              send("a7 OK\r\n"),
              // IDLE until the receive timeout: no EXISTS, DONE ends it.
              expect("a8 IDLE"),
              send("+ idling\r\n"),
              expect("DONE"),
              send("a8 OK done\r\n"),
              expect("a9 UID SEARCH HEADER X-Smtp-Exporter-Token"),
              send("* SEARCH\r\na9 OK\r\n"),
              expect("a10 LOGOUT"),
              send("* BYE\r\na10 OK\r\n"),
              hang_up()};
  script.insert(script.end(), rest.begin(), rest.end());
  FakeSmtpServer imap(script);
  auto r = probe(smtp, imap);
  expect_failure(r, Stage::receive, FailureReason::not_delivered);
  const auto* s = probes::section<probes::ReceiveSection>(r, "receive");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->late, 1);
  EXPECT_TRUE(s->idle);
  EXPECT_TRUE(received(imap, "a7 EXPUNGE"));
  EXPECT_TRUE(received(imap, "DONE"));
  EXPECT_EQ(s->round_trips, 10);
}

TEST_F(Delivery, ByeGreetingIsImapConnect) {
  FakeSmtpServer smtp(accepting_server());
  FakeSmtpServer imap(Script{start_tls(identity()), send("* BYE too busy\r\n"), hang_up()});
  auto r = probe(smtp, imap);
  expect_failure(r, Stage::receive, FailureReason::imap_connect);
}

TEST_F(Delivery, RefusedLoginIsImapAuthAndThePasswordIsNeverLogged) {
  FakeSmtpServer smtp(accepting_server());
  FakeSmtpServer imap(Script{start_tls(identity()), send("* OK ready\r\n"), expect("a1 LOGIN"),
                             send("a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"), hang_up()});
  auto r = probe(smtp, imap);
  expect_failure(r, Stage::receive, FailureReason::imap_auth);
  EXPECT_TRUE(received(imap, "a1 LOGIN sink@example.test " + kPassword));  // it was sent, to the server only
  expect_no_password(r);
}

TEST_F(Delivery, MalformedResponseIsImapError) {
  FakeSmtpServer smtp(accepting_server());
  Script script = logged_in("IMAP4rev1");
  script.pop_back();  // the SELECT reply
  script.push_back(send("a3 HELLO (unbalanced\r\n"));
  script.push_back(stall());
  FakeSmtpServer imap(script);
  auto r = probe(smtp, imap);
  expect_failure(r, Stage::receive, FailureReason::imap_error);
  EXPECT_NE(r.failure->detail.find("malformed"), std::string::npos) << r.failure->detail;
}

TEST_F(Delivery, UntrustedCertificateIsImapConnect) {
  FakeSmtpServer smtp(accepting_server());
  TestPki other;
  Issued stranger = other.issue({kHost, {kHost}, {"127.0.0.1"}}, other.root());
  FakeSmtpServer imap(Script{start_tls({other.chain_file({&stranger}), stranger.key_file}), send("* OK ready\r\n"),
                             stall()});
  auto r = probe(smtp, imap);
  expect_failure(r, Stage::receive, FailureReason::imap_connect);
}

}  // namespace
}  // namespace smtp_exporter::testing
