// The fault matrix: every stage of the conversation against every way a
// server can misbehave there (refuse, stall, close, garbage, a 1 MB line,
// 10,000 continuation lines, a TLS alert, a TCP reset). Each cell states the
// (stage, reason) an operator should see, and that the probe ends within its
// deadline; stalls end at a short deadline, everything else promptly.
// Plus the DNS faults of the DANE unit's validator (a forwarder that never
// answers, one that refuses); a stalled probe, or one whose validator waits,
// does not hold up another on the same io_context; and memory returns to its
// level after the whole matrix has run several times.
#include <malloc.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fake_dns_server.h"
#include "fake_smtp_server.h"
#include "probe_helpers.h"
#include "test_pki.h"

#if defined(__SANITIZE_ADDRESS__)
#define FAULT_MATRIX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FAULT_MATRIX_ASAN 1
#endif
#endif

namespace smtp_exporter::testing {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using probes::FailureReason;
using probes::Stage;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Deadlines. A cell that stalls ends at kStallTimeout; every other cell
// gets kTimeout and must end well before it (kPrompt): its fault is seen in
// what the server sent, not by waiting.
constexpr milliseconds kTimeout = 2s;
constexpr milliseconds kStallTimeout = 400ms;
constexpr milliseconds kPrompt = 1s;
constexpr milliseconds kSlack = 250ms;  // past the deadline, to unwind

// Where the server misbehaves. tls: the handshake of implicit TLS;
// tls_after_starttls: the handshake after "220" to STARTTLS (reported as
// stage starttls, whose failures include its handshake: see probe_result.h);
// mail_over_tls: MAIL FROM inside an implicit TLS session; data: the reply
// to DATA; data_end: the reply to the message (after "."); connect: the
// module stops after connect (quit_after), so only TCP matters.
enum class Where {
  connect,
  banner,
  ehlo,
  starttls,
  tls,
  tls_after_starttls,
  auth,
  mail,
  mail_over_tls,
  rcpt,
  data,
  data_end,
  quit
};

// What the server does there. refuses: a 5xx reply (at connect: nothing
// listens on the port); answers_421: "421" then hangs up; stalls: reads and
// never answers (at connect: the listen queue is full, SYNs are dropped);
// closes: FIN (over TLS after close_notify); sends_garbage: binary bytes
// ending in CR LF; sends_1mb_line: "NNN " and 1 MiB without CR LF;
// sends_10k_continuation_lines: "NNN-x" CR LF x 10,000 and no last line;
// sends_tls_alert: a raw fatal alert record (handshake_failure); resets: RST.
// After garbage, the long line, the flood and the alert, the server stalls:
// the probe must see the fault in the bytes, not in a hang-up.
enum class Behaviour {
  refuses,
  answers_421,
  stalls,
  closes,
  sends_garbage,
  sends_1mb_line,
  sends_10k_continuation_lines,
  sends_tls_alert,
  resets
};
constexpr std::size_t kBehaviours = 9;

std::string name(Where w) {
  static const char* const names[] = {"connect", "banner", "ehlo",          "starttls", "tls",  "tls_after_starttls",
                                      "auth",    "mail",   "mail_over_tls", "rcpt",     "data", "data_end",
                                      "quit"};
  return names[static_cast<int>(w)];
}

std::string name(Behaviour b) {
  static const char* const names[] = {"refuses",        "answers_421",    "stalls",
                                      "closes",         "sends_garbage",  "sends_1mb_line",
                                      "sends_10k_continuation_lines",     "sends_tls_alert",
                                      "resets"};
  return names[static_cast<int>(b)];
}

struct Outcome {
  enum class Kind { not_applicable, success, failure };
  Kind kind = Kind::not_applicable;
  Stage stage = Stage::connect;
  FailureReason reason = FailureReason::timeout;
};

constexpr Outcome n_a{};                                 // the combination makes no sense: no cell
constexpr Outcome ok{Outcome::Kind::success, Stage::connect, FailureReason::timeout};  // tolerated: success
constexpr Outcome fail(Stage s, FailureReason r) { return {Outcome::Kind::failure, s, r}; }

struct Cell {
  Where where;
  Behaviour behaviour;
  Outcome expected;
};

using W = Where;
using B = Behaviour;
using S = Stage;
using R = FailureReason;

// The expected outcome of every cell: (stage, reason) of the failure, or ok.
// Combinations that make no sense are absent (a TLS alert or a long line at
// connect; an SMTP refusal in a TLS handshake).
const std::vector<Cell> kCells = {
    // connect (quit_after = connect): what happens after the TCP handshake is
    // not this stage's business. A full listen queue drops the SYN: timeout.
    {W::connect, B::refuses, fail(S::connect, R::refused)},
    {W::connect, B::stalls, fail(S::connect, R::timeout)},
    {W::connect, B::closes, ok},
    {W::connect, B::sends_garbage, ok},
    {W::connect, B::resets, ok},

    // banner: a refusing greeting (554, 421) is unexpected_code (expect_banner_code);
    // bytes that cannot be a reply, too long a line or too many lines are
    // protocol_error, seen in the bytes, not by waiting; RST is closed.
    {W::banner, B::refuses, fail(S::banner, R::unexpected_code)},
    {W::banner, B::answers_421, fail(S::banner, R::unexpected_code)},
    {W::banner, B::stalls, fail(S::banner, R::timeout)},
    {W::banner, B::closes, fail(S::banner, R::closed)},
    {W::banner, B::sends_garbage, fail(S::banner, R::protocol_error)},
    {W::banner, B::sends_1mb_line, fail(S::banner, R::protocol_error)},
    {W::banner, B::sends_10k_continuation_lines, fail(S::banner, R::protocol_error)},
    {W::banner, B::sends_tls_alert, fail(S::banner, R::protocol_error)},
    {W::banner, B::resets, fail(S::banner, R::closed)},

    // ehlo: 5xx to EHLO, then to HELO; 421 gets no HELO fallback.
    {W::ehlo, B::refuses, fail(S::ehlo, R::unexpected_code)},
    {W::ehlo, B::answers_421, fail(S::ehlo, R::unexpected_code)},
    {W::ehlo, B::stalls, fail(S::ehlo, R::timeout)},
    {W::ehlo, B::closes, fail(S::ehlo, R::closed)},
    {W::ehlo, B::sends_garbage, fail(S::ehlo, R::protocol_error)},
    {W::ehlo, B::sends_1mb_line, fail(S::ehlo, R::protocol_error)},
    {W::ehlo, B::sends_10k_continuation_lines, fail(S::ehlo, R::protocol_error)},
    {W::ehlo, B::sends_tls_alert, fail(S::ehlo, R::protocol_error)},
    {W::ehlo, B::resets, fail(S::ehlo, R::closed)},

    // starttls: the STARTTLS command (e.g. 554 TLS not available).
    {W::starttls, B::refuses, fail(S::starttls, R::unexpected_code)},
    {W::starttls, B::answers_421, fail(S::starttls, R::unexpected_code)},
    {W::starttls, B::stalls, fail(S::starttls, R::timeout)},
    {W::starttls, B::closes, fail(S::starttls, R::closed)},
    {W::starttls, B::sends_garbage, fail(S::starttls, R::protocol_error)},
    {W::starttls, B::sends_1mb_line, fail(S::starttls, R::protocol_error)},
    {W::starttls, B::sends_10k_continuation_lines, fail(S::starttls, R::protocol_error)},
    {W::starttls, B::sends_tls_alert, fail(S::starttls, R::protocol_error)},
    {W::starttls, B::resets, fail(S::starttls, R::closed)},

    // tls: the implicit TLS handshake. Whatever ends it early is tls_error
    // (docs/metrics.md: "not TLS on the other side, ... an alert from the
    // server, or the connection closed during the handshake"); there is no
    // SMTP refusal here (a TLS refusal is the alert).
    {W::tls, B::stalls, fail(S::tls, R::timeout)},
    {W::tls, B::closes, fail(S::tls, R::tls_error)},
    {W::tls, B::sends_garbage, fail(S::tls, R::tls_error)},
    {W::tls, B::sends_1mb_line, fail(S::tls, R::tls_error)},
    {W::tls, B::sends_10k_continuation_lines, fail(S::tls, R::tls_error)},
    {W::tls, B::sends_tls_alert, fail(S::tls, R::tls_error)},
    {W::tls, B::resets, fail(S::tls, R::tls_error)},

    // tls_after_starttls: the handshake after "220" to STARTTLS, reported at
    // stage starttls (probe_result.h: its failures include its handshake).
    {W::tls_after_starttls, B::stalls, fail(S::starttls, R::timeout)},
    {W::tls_after_starttls, B::closes, fail(S::starttls, R::tls_error)},
    {W::tls_after_starttls, B::sends_garbage, fail(S::starttls, R::tls_error)},
    {W::tls_after_starttls, B::sends_1mb_line, fail(S::starttls, R::tls_error)},
    {W::tls_after_starttls, B::sends_10k_continuation_lines, fail(S::starttls, R::tls_error)},
    {W::tls_after_starttls, B::sends_tls_alert, fail(S::starttls, R::tls_error)},
    {W::tls_after_starttls, B::resets, fail(S::starttls, R::tls_error)},

    // auth (AUTH PLAIN, plain text allowed): 535 is auth_error, 421 temporary.
    {W::auth, B::refuses, fail(S::auth, R::auth_error)},
    {W::auth, B::answers_421, fail(S::auth, R::temporary_failure)},
    {W::auth, B::stalls, fail(S::auth, R::timeout)},
    {W::auth, B::closes, fail(S::auth, R::closed)},
    {W::auth, B::sends_garbage, fail(S::auth, R::protocol_error)},
    {W::auth, B::sends_1mb_line, fail(S::auth, R::protocol_error)},
    {W::auth, B::sends_10k_continuation_lines, fail(S::auth, R::protocol_error)},
    {W::auth, B::sends_tls_alert, fail(S::auth, R::protocol_error)},
    {W::auth, B::resets, fail(S::auth, R::closed)},

    // The transaction: 5xx permanent_failure, 4xx temporary_failure.
    {W::mail, B::refuses, fail(S::mail, R::permanent_failure)},
    {W::mail, B::answers_421, fail(S::mail, R::temporary_failure)},
    {W::mail, B::stalls, fail(S::mail, R::timeout)},
    {W::mail, B::closes, fail(S::mail, R::closed)},
    {W::mail, B::sends_garbage, fail(S::mail, R::protocol_error)},
    {W::mail, B::sends_1mb_line, fail(S::mail, R::protocol_error)},
    {W::mail, B::sends_10k_continuation_lines, fail(S::mail, R::protocol_error)},
    {W::mail, B::sends_tls_alert, fail(S::mail, R::protocol_error)},
    {W::mail, B::resets, fail(S::mail, R::closed)},

    // mail_over_tls: MAIL FROM inside an implicit TLS session (reported at
    // stage mail). Inside TLS, the alert is a record the session cannot
    // accept: a TLS failure (tls_error, remediation tls/session_error).
    {W::mail_over_tls, B::refuses, fail(S::mail, R::permanent_failure)},
    {W::mail_over_tls, B::answers_421, fail(S::mail, R::temporary_failure)},
    {W::mail_over_tls, B::stalls, fail(S::mail, R::timeout)},
    {W::mail_over_tls, B::closes, fail(S::mail, R::closed)},
    {W::mail_over_tls, B::sends_garbage, fail(S::mail, R::protocol_error)},
    {W::mail_over_tls, B::sends_1mb_line, fail(S::mail, R::protocol_error)},
    {W::mail_over_tls, B::sends_10k_continuation_lines, fail(S::mail, R::protocol_error)},
    {W::mail_over_tls, B::sends_tls_alert, fail(S::mail, R::tls_error)},
    {W::mail_over_tls, B::resets, fail(S::mail, R::closed)},

    {W::rcpt, B::refuses, fail(S::rcpt, R::permanent_failure)},
    {W::rcpt, B::answers_421, fail(S::rcpt, R::temporary_failure)},
    {W::rcpt, B::stalls, fail(S::rcpt, R::timeout)},
    {W::rcpt, B::closes, fail(S::rcpt, R::closed)},
    {W::rcpt, B::sends_garbage, fail(S::rcpt, R::protocol_error)},
    {W::rcpt, B::sends_1mb_line, fail(S::rcpt, R::protocol_error)},
    {W::rcpt, B::sends_10k_continuation_lines, fail(S::rcpt, R::protocol_error)},
    {W::rcpt, B::sends_tls_alert, fail(S::rcpt, R::protocol_error)},
    {W::rcpt, B::resets, fail(S::rcpt, R::closed)},

    // data: the reply to DATA; data_end: the reply to the message (after ".").
    {W::data, B::refuses, fail(S::data, R::permanent_failure)},
    {W::data, B::answers_421, fail(S::data, R::temporary_failure)},
    {W::data, B::stalls, fail(S::data, R::timeout)},
    {W::data, B::closes, fail(S::data, R::closed)},
    {W::data, B::sends_garbage, fail(S::data, R::protocol_error)},
    {W::data, B::sends_1mb_line, fail(S::data, R::protocol_error)},
    {W::data, B::sends_10k_continuation_lines, fail(S::data, R::protocol_error)},
    {W::data, B::sends_tls_alert, fail(S::data, R::protocol_error)},
    {W::data, B::resets, fail(S::data, R::closed)},

    {W::data_end, B::refuses, fail(S::data, R::permanent_failure)},
    {W::data_end, B::answers_421, fail(S::data, R::temporary_failure)},
    {W::data_end, B::stalls, fail(S::data, R::timeout)},
    {W::data_end, B::closes, fail(S::data, R::closed)},
    {W::data_end, B::sends_garbage, fail(S::data, R::protocol_error)},
    {W::data_end, B::sends_1mb_line, fail(S::data, R::protocol_error)},
    {W::data_end, B::sends_10k_continuation_lines, fail(S::data, R::protocol_error)},
    {W::data_end, B::sends_tls_alert, fail(S::data, R::protocol_error)},
    {W::data_end, B::resets, fail(S::data, R::closed)},

    // quit: best effort, the server has done its job: every fault is
    // tolerated (a stall costs the rest of the deadline, though).
    {W::quit, B::refuses, ok},
    {W::quit, B::answers_421, ok},
    {W::quit, B::stalls, ok},
    {W::quit, B::closes, ok},
    {W::quit, B::sends_garbage, ok},
    {W::quit, B::sends_1mb_line, ok},
    {W::quit, B::sends_10k_continuation_lines, ok},
    {W::quit, B::sends_tls_alert, ok},
    {W::quit, B::resets, ok},
};

std::string name(const Cell& c) { return name(c.where) + "_" + name(c.behaviour); }

const std::vector<Cell>& cells() { return kCells; }

void PrintTo(const Cell& c, std::ostream* os) { *os << name(c); }

// --- The servers -----------------------------------------------------------

const std::string kHost = "mail.example.test";
const std::string kGreeting = "220 fake.test ESMTP\r\n";
const std::string kEhlo = "250-fake.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
const std::string kEhloStartTls = "250-fake.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n";
const std::string kEhloAuth = "250-fake.test\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n";
const std::string kGarbage = "\x80\xfe\x00\x01 garbage \xff\r\n"s;
const std::string kBye = "221 2.0.0 Bye\r\n";

// How a stage is reached, and what its refusal looks like.
struct Scene {
  config::Module module = test_module();
  Script before;         // the conversation up to the fault
  std::string refusal;   // `refuses`: the 5xx reply
  Script after_refusal;  // then
  std::string code;      // the stage's usual reply code (for the long line and the flood)
  bool client_first = false;  // a handshake: the ClientHello is read before misbehaving
};

Script operator+(Script a, const Script& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const Script kQuit = {expect("QUIT"), send(kBye), hang_up()};

config::Module tls_module(config::TlsMode mode, const std::string& ca) {
  config::Module m = test_module();
  m.tls = mode;
  m.tls_config.ca_file = ca;
  m.tls_config.server_name = kHost;
  return m;
}

void add_message(config::Module& m) {
  config::SendConfig send;
  send.from = "probe@example.test";
  send.to = {"sink@example.test"};
  m.send = send;
}

// One throw-away PKI for the whole file, made on first use.
struct Pki {
  TestPki pki;
  Issued leaf = pki.issue({kHost, {kHost}, {"127.0.0.1"}}, pki.root());
  TlsIdentity identity{pki.chain_file({&leaf}), leaf.key_file};
};

const Pki& pki() {
  static Pki p;
  return p;
}

Scene scene(Where where) {
  Scene s;
  s.after_refusal = kQuit;
  const Script mail_ok = {expect("MAIL FROM"), send("250 2.1.0 Ok\r\n")};
  const Script rcpt_ok = {expect("RCPT TO"), send("250 2.1.5 Ok\r\n")};
  const Script greeted = {send(kGreeting), expect("EHLO"), send(kEhlo)};
  switch (where) {
    case Where::connect:
      s.module.quit_after = config::Step::connect;
      break;
    case Where::banner:
      s.refusal = "554 5.3.2 No SMTP service here\r\n";
      s.code = "220";
      break;
    case Where::ehlo:
      s.before = {send(kGreeting), expect("EHLO")};
      s.refusal = "550 5.7.1 EHLO not accepted\r\n";
      s.after_refusal = Script{expect("HELO"), send("550 5.7.1 HELO not accepted either\r\n")} + kQuit;
      s.code = "250";
      break;
    case Where::starttls:
      s.module = tls_module(config::TlsMode::starttls, pki().pki.root().cert_file);
      s.before = {send(kGreeting), expect("EHLO"), send(kEhloStartTls), expect("STARTTLS")};
      s.refusal = "554 5.7.3 TLS not available\r\n";
      s.code = "220";
      break;
    case Where::tls:
      s.module = tls_module(config::TlsMode::implicit, pki().pki.root().cert_file);
      s.client_first = true;
      break;
    case Where::tls_after_starttls:
      s.module = tls_module(config::TlsMode::starttls, pki().pki.root().cert_file);
      s.before = {send(kGreeting), expect("EHLO"), send(kEhloStartTls), expect("STARTTLS"),
                  send("220 2.0.0 Ready to start TLS\r\n")};
      s.client_first = true;
      break;
    case Where::auth: {
      config::AuthConfig auth;
      auth.username = "probe@example.test";
      auth.password_env = "SMTP_EXPORTER_TEST_PASSWORD";
      auth.password = "s3cr3t";
      auth.mechanisms = {"PLAIN"};
      auth.allow_plaintext_auth = true;
      s.module.auth = auth;
      s.before = {send(kGreeting), expect("EHLO"), send(kEhloAuth), expect("AUTH PLAIN")};
      s.refusal = "535 5.7.8 Authentication credentials invalid\r\n";
      s.code = "235";
      break;
    }
    case Where::mail:
      add_message(s.module);
      s.before = greeted + Script{expect("MAIL FROM")};
      s.refusal = "550 5.7.1 Sender address rejected\r\n";
      s.code = "250";
      break;
    case Where::mail_over_tls:
      s.module = tls_module(config::TlsMode::implicit, pki().pki.root().cert_file);
      add_message(s.module);
      s.before = Script{start_tls(pki().identity)} + greeted + Script{expect("MAIL FROM")};
      s.refusal = "550 5.7.1 Sender address rejected\r\n";
      s.code = "250";
      break;
    case Where::rcpt:
      add_message(s.module);
      s.before = greeted + mail_ok + Script{expect("RCPT TO")};
      s.refusal = "550 5.1.1 <sink@example.test>: Recipient address rejected: User unknown\r\n";
      s.code = "250";
      break;
    case Where::data:
      add_message(s.module);
      s.before = greeted + mail_ok + rcpt_ok + Script{expect("DATA")};
      s.refusal = "554 5.5.1 Error: no valid recipients\r\n";
      s.code = "354";
      break;
    case Where::data_end:
      add_message(s.module);
      s.before = greeted + mail_ok + rcpt_ok +
                 Script{expect("DATA"), send("354 End data with <CR><LF>.<CR><LF>\r\n"), read_message()};
      s.refusal = "554 5.7.1 Message rejected as spam\r\n";
      s.code = "250";
      break;
    case Where::quit:
      s.before = greeted + Script{expect("QUIT")};
      s.refusal = "500 5.5.2 Error: command not recognized\r\n";
      s.after_refusal = {hang_up()};
      s.code = "221";
      break;
  }
  return s;
}

Script script(Behaviour b, const Scene& s) {
  Script fault;
  if (s.client_first && b != Behaviour::stalls) fault.push_back(receive());
  switch (b) {
    case Behaviour::refuses:
      fault = fault + Script{send(s.refusal)} + s.after_refusal;
      break;
    case Behaviour::answers_421:
      fault = fault + Script{send("421 4.3.2 Service shutting down, closing transmission channel\r\n"), hang_up()};
      break;
    case Behaviour::stalls:
      fault.push_back(stall());
      break;
    case Behaviour::closes:
      fault.push_back(hang_up());
      break;
    case Behaviour::sends_garbage:
      fault = fault + Script{send(kGarbage), stall()};
      break;
    case Behaviour::sends_1mb_line:
      fault = fault + Script{send(s.code + " "), send_repeated("x", 1 << 20), stall()};
      break;
    case Behaviour::sends_10k_continuation_lines:
      fault = fault + Script{send_repeated(s.code + "-x\r\n", 10000), stall()};
      break;
    case Behaviour::sends_tls_alert:
      fault = fault + Script{tls_alert(), stall()};
      break;
    case Behaviour::resets:
      fault.push_back(reset());
      break;
  }
  return s.before + fault;
}

// A port whose listen queue is full: the kernel drops further SYNs, so a
// connect() neither succeeds nor fails until the client gives up.
class FullListenQueue {
 public:
  FullListenQueue() : acceptor_(io_), filler_(io_) {
    using boost::asio::ip::tcp;
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen(0);  // Linux: one connection waits in the queue, later SYNs are dropped
    filler_.connect(acceptor_.local_endpoint());
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::socket filler_;
};

// A port nothing listens on (reserved, then freed).
std::uint16_t closed_port() {
  FakeSmtpServer server({hang_up()});
  return server.port();
}

struct CellRun {
  probes::ProbeResult result;
  Clock::duration elapsed{};
  milliseconds timeout{};
  std::vector<std::string> received;  // command lines the server got
};

CellRun run_cell(const Cell& cell, milliseconds stall_timeout) {
  Scene s = scene(cell.where);
  CellRun run;
  run.timeout = cell.behaviour == Behaviour::stalls ? stall_timeout : kTimeout;
  std::optional<FakeSmtpServer> server;
  std::optional<FullListenQueue> full;
  std::uint16_t port = 0;
  if (cell.where == Where::connect && cell.behaviour == Behaviour::refuses) {
    port = closed_port();
  } else if (cell.where == Where::connect && cell.behaviour == Behaviour::stalls) {
    port = full.emplace().port();
  } else {
    port = server.emplace(script(cell.behaviour, s)).port();
  }
  auto started = Clock::now();
  run.result = probe_port(port, s.module, run.timeout);
  run.elapsed = Clock::now() - started;
  if (server) run.received = server->received();
  return run;
}

std::string failure_text(const probes::ProbeResult& r) {
  if (!r.failure) return "no failure";
  return std::string(probes::to_string(r.failure->stage)) + "/" + std::string(probes::to_string(r.failure->reason)) +
         ": " + r.failure->detail;
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// --- The matrix ------------------------------------------------------------

// What a failure's detail must say, where the behaviour fixes it.
std::string detail_hint(const Cell& c) {
  const bool handshake = c.where == Where::tls || c.where == Where::tls_after_starttls;
  switch (c.behaviour) {
    case Behaviour::refuses:
      return c.where == Where::connect ? "refused" : scene(c.where).refusal.substr(0, 3);
    case Behaviour::answers_421: return "421";
    case Behaviour::stalls: return "deadline of " + config::format_duration(kStallTimeout) + " exceeded";
    case Behaviour::closes: return "closed by the server";
    case Behaviour::resets: return "reset by peer";
    case Behaviour::sends_garbage: return handshake ? "wrong version number" : "not an SMTP reply";
    case Behaviour::sends_1mb_line: return handshake ? "wrong version number" : "reply line longer than 1000 bytes";
    case Behaviour::sends_10k_continuation_lines: return handshake ? "wrong version number" : "more than 100 lines";
    case Behaviour::sends_tls_alert:
      if (handshake) return "alert handshake failure";
      return c.where == Where::mail_over_tls ? "" : "not an SMTP reply: \"\\x15\\x03\\x03";
  }
  return "";
}

class FaultMatrix : public ::testing::TestWithParam<Cell> {};

TEST_P(FaultMatrix, ExpectedStageAndReasonWithinTheDeadline) {
  const Cell& cell = GetParam();
  CellRun run = run_cell(cell, kStallTimeout);
  const probes::ProbeResult& r = run.result;
  RecordProperty("outcome", r.success ? std::string("success") : failure_text(r));
  RecordProperty("elapsed_ms", std::to_string(ms(run.elapsed)));
  EXPECT_LE(run.elapsed, run.timeout + kSlack) << ms(run.elapsed) << " ms";
  EXPECT_LE(r.duration_seconds, std::chrono::duration<double>(run.timeout + kSlack).count());
  // Only a stall may use the deadline up: every other fault is in the bytes.
  if (cell.behaviour != Behaviour::stalls) {
    EXPECT_LT(run.elapsed, kPrompt) << ms(run.elapsed) << " ms; " << failure_text(r);
  }
  // A tolerated QUIT fault: the conversation did reach QUIT.
  if (cell.where == Where::quit) {
    EXPECT_THAT(run.received, ::testing::Contains("QUIT"));
  }
  if (cell.expected.kind == Outcome::Kind::success) {
    EXPECT_TRUE(r.success) << failure_text(r);
    return;
  }
  ASSERT_TRUE(r.failure.has_value());
  if (const auto hint = detail_hint(cell); !hint.empty()) {
    EXPECT_THAT(r.failure->detail, ::testing::HasSubstr(hint));
  }
  expect_failure(r, cell.expected.stage, cell.expected.reason);
}

INSTANTIATE_TEST_SUITE_P(Fault, FaultMatrix, ::testing::ValuesIn(cells()),
                         [](const ::testing::TestParamInfo<Cell>& info) { return name(info.param); });

// Every behaviour at banner, ehlo, tls and a transaction stage, and every
// stage with at least stall, close, garbage and reset: the table above must
// not lose cells by accident.
TEST(FaultMatrixTable, CoversWhatItPromises) {
  auto has = [](Where w, Behaviour b) {
    for (const Cell& c : cells())
      if (c.where == w && c.behaviour == b) return true;
    return false;
  };
  for (Where w : {Where::banner, Where::ehlo, Where::mail, Where::mail_over_tls})
    for (std::size_t b = 0; b < kBehaviours; ++b)
      EXPECT_TRUE(has(w, static_cast<Behaviour>(b))) << name(w) << " " << name(static_cast<Behaviour>(b));
  for (std::size_t b = 2; b < kBehaviours; ++b)  // a handshake has no SMTP refusal
    EXPECT_TRUE(has(Where::tls, static_cast<Behaviour>(b))) << name(static_cast<Behaviour>(b));
  for (int w = 0; w <= static_cast<int>(Where::quit); ++w)
    for (Behaviour b : {Behaviour::stalls, Behaviour::closes, Behaviour::sends_garbage, Behaviour::resets})
      EXPECT_TRUE(has(static_cast<Where>(w), b)) << name(static_cast<Where>(w)) << " " << name(b);
  std::set<std::string> names;
  for (const Cell& c : cells()) EXPECT_TRUE(names.insert(name(c)).second) << "twice: " << name(c);
}

// --- DNS faults of the DANE unit ------------------------------------------------

// The dane unit validates the host's addresses and TLSA records (libunbound,
// its [dns] servers as forwarders) before it connects (as test_dane.py's
// test_validator_times_out and test_server_refuses do end to end). A forwarder that never
// answers, or one that refuses, leaves their DNSSEC status indeterminate: the
// probe fails at resolve with tlsa_lookup_error (not "no DANE"), never
// reaching the SMTP server, within its deadline.
const std::string kDaneHost = "mail.dane.lab";

// A trust anchor for dane.lab (any DS: the forwarder never answers with
// keys), so that the test does not depend on the root's anchor file
// (dns-root-data), whose absence would fail every look-up for another reason.
const std::string& anchor_file() {
  static const std::string path = [] {
    std::string p = ::testing::TempDir() + "/fault_matrix_anchor.ds";
    std::ofstream(p) << "dane.lab. 3600 IN DS 12345 13 2 " << std::string(64, 'a') << "\n";
    return p;
  }();
  return path;
}

config::Module dane_module(const FakeDnsServer& dns) {
  config::Module m = tls_module(config::TlsMode::starttls, pki().pki.root().cert_file);
  m.checks.insert("dane");
  m.dns.servers = {dns.server()};
  m.dns.trust_anchor_file = anchor_file();
  return m;
}

struct DnsFault {
  const char* name;
  FakeDnsServer::Mode mode;
  milliseconds timeout;  // the probe's deadline
  milliseconds within;   // it must end before this
  const char* detail;
};

void PrintTo(const DnsFault& f, std::ostream* os) { *os << f.name; }

class DnsFaults : public ::testing::TestWithParam<DnsFault> {};

TEST_P(DnsFaults, DaneProbeFailsAtResolveWithinItsDeadline) {
  const DnsFault& fault = GetParam();
  FakeDnsServer dns(fault.mode);
  FakeSmtpServer smtp(starttls_server(pki().identity));
  const auto started = Clock::now();
  // Returns only once nothing of the probe is left on its io_context (no
  // watch on the validator's pipe, no timer): the exporter does not hang.
  probes::ProbeResult r = probe_port(smtp.port(), dane_module(dns), fault.timeout, kDaneHost);
  const auto elapsed = Clock::now() - started;
  RecordProperty("elapsed_ms", std::to_string(ms(elapsed)));
  expect_failure(r, Stage::resolve, FailureReason::tlsa_lookup_error);
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_THAT(r.failure->detail, ::testing::HasSubstr("validated look-up of the addresses of " + kDaneHost));
  EXPECT_THAT(r.failure->detail, ::testing::HasSubstr(fault.detail));
  EXPECT_LT(elapsed, fault.within) << ms(elapsed) << " ms";
  EXPECT_GT(dns.queries(), 0);                // the validator did ask it
  EXPECT_EQ(smtp.connections(), 0);           // no connection without a DNSSEC status
}

INSTANTIATE_TEST_SUITE_P(
    Fault, DnsFaults,
    ::testing::Values(DnsFault{"validator_times_out", FakeDnsServer::Mode::silent, kStallTimeout,
                               kStallTimeout + kSlack, "timed out"},
                      // libunbound gives up on a refusing forwarder at once, and reports SERVFAIL.
                      DnsFault{"server_refuses", FakeDnsServer::Mode::refuses, kTimeout, kPrompt, "SERVFAIL"}),
    [](const auto& info) { return std::string(info.param.name); });

// --- Responsiveness ----------------------------------------------------------

struct StallCase {
  const char* name;
  Stage stage;  // resolve: the DANE unit's validator waits on a forwarder that never answers
  FailureReason reason = FailureReason::timeout;
};

class FaultResponsiveness : public ::testing::TestWithParam<StallCase> {};

// While one probe waits on a stalled server (or its DANE validator on a
// forwarder that never answers), another on the same io_context (one thread,
// as in the exporter) against a polite server completes at once.
TEST_P(FaultResponsiveness, HealthyProbeIsNotHeldUpByAStalledOne) {
  const bool tls = GetParam().stage == Stage::tls;
  const bool dane = GetParam().stage == Stage::resolve;
  std::optional<FakeDnsServer> silent;
  if (dane) silent.emplace(FakeDnsServer::Mode::silent);
  FakeSmtpServer stalled({stall()});
  FakeSmtpServer polite(tls ? implicit_tls_server(pki().identity) : polite_server());
  config::Module module = tls ? tls_module(config::TlsMode::implicit, pki().pki.root().cert_file) : test_module();

  probes::ProbeRequest slow;
  slow.host = "127.0.0.1";
  slow.port = stalled.port();
  slow.module = module;
  slow.timeout = 1s;
  probes::ProbeRequest quick = slow;
  if (dane) {
    slow.host = kDaneHost;
    slow.module = dane_module(*silent);
  }
  quick.port = polite.port();
  quick.timeout = 5s;

  boost::asio::io_context io;
  std::optional<probes::ProbeResult> slow_result, quick_result;
  Clock::time_point slow_done, quick_started, quick_done;
  const auto started = Clock::now();
  boost::asio::co_spawn(io, probes::run_probe(slow), [&](std::exception_ptr e, probes::ProbeResult r) {
    ASSERT_FALSE(e);
    slow_done = Clock::now();
    slow_result = std::move(r);
  });
  // The healthy probe starts once the other is stuck in its stage.
  boost::asio::steady_timer later(io, 200ms);
  later.async_wait([&](const boost::system::error_code&) {
    quick_started = Clock::now();
    boost::asio::co_spawn(io, probes::run_probe(quick), [&](std::exception_ptr e, probes::ProbeResult r) {
      ASSERT_FALSE(e);
      quick_done = Clock::now();
      quick_result = std::move(r);
    });
  });
  io.run();

  ASSERT_TRUE(slow_result && quick_result);
  EXPECT_TRUE(quick_result->success) << failure_text(*quick_result);
  expect_failure(*slow_result, GetParam().stage, GetParam().reason);
  EXPECT_LT(quick_done - quick_started, 500ms) << ms(quick_done - quick_started) << " ms";
  EXPECT_LT(quick_done, slow_done);
  EXPECT_GE(slow_done - started, 1s - 50ms);
  EXPECT_LE(slow_done - started, 1s + kSlack);
}

INSTANTIATE_TEST_SUITE_P(Fault, FaultResponsiveness,
                         ::testing::Values(StallCase{"stall_at_banner", Stage::banner},
                                           StallCase{"stall_at_tls", Stage::tls},
                                           StallCase{"validator_times_out", Stage::resolve,
                                                     FailureReason::tlsa_lookup_error}),
                         [](const auto& info) { return std::string(info.param.name); });

// --- Memory --------------------------------------------------------------------

#ifdef FAULT_MATRIX_ASAN
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// Every cell, again and again: what a probe allocates (buffers up to the
// reply limits, TLS sessions, the fake server's threads) is given back.
TEST(FaultMatrixMemory, RssReturnsToBaselineAfterRepeatedRounds) {
  constexpr milliseconds kShortStall = 50ms;  // outcomes are the matrix's business, not this test's
  const std::vector<Cell> all = cells();
  auto round = [&] {
    for (const Cell& cell : all) run_cell(cell, kShortStall);
  };
  round();  // warm-up: OpenSSL tables, thread stacks, malloc arenas
  malloc_trim(0);
  const long baseline = rss_kib();
  ASSERT_GT(baseline, 0);
  constexpr int kRounds = 3;
  for (int i = 0; i < kRounds; ++i) round();
  malloc_trim(0);
  const long after = rss_kib();
  RecordProperty("rss_baseline_kib", std::to_string(baseline));
  RecordProperty("rss_after_kib", std::to_string(after));
  if (kAsan) GTEST_SKIP() << "AddressSanitizer keeps freed memory in quarantine: RSS says nothing here (baseline "
                          << baseline << " KiB, after " << after << " KiB)";
  EXPECT_LE(after - baseline, 4096) << "RSS grew from " << baseline << " KiB to " << after << " KiB over " << kRounds
                                    << " rounds of " << all.size() << " cells";
}

}  // namespace
}  // namespace smtp_exporter::testing
