// A scriptable SMTP server for fault injection: it listens on 127.0.0.1 on a
// free port, runs on its own thread and io_context (so its timing does not
// depend on the code under test), and plays the same script on every
// connection: send bytes, wait, read a command line, stall, start TLS, or
// hang up; and, for fault injection, flood, reset (RST) or send a TLS alert.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace smtp_exporter::testing {

// What the server presents in a TLS handshake: PEM files (e.g. from
// TestPki::chain_file and Issued::key_file).
struct TlsIdentity {
  std::string chain_file;  // leaf first, then intermediates
  std::string key_file;
};

struct Step {
  enum class Kind { send, delay, expect, close, stall, start_tls, send_repeated, receive, read_message, reset, tls_alert };
  Kind kind;
  std::string text;                    // send, send_repeated: bytes; expect: the command's prefix
  std::chrono::milliseconds wait{0};   // delay
  TlsIdentity tls;                     // start_tls
  std::size_t count = 0;               // send_repeated
};

inline Step send(std::string bytes) { return {Step::Kind::send, std::move(bytes), {}, {}, 0}; }
inline Step delay(std::chrono::milliseconds ms) { return {Step::Kind::delay, {}, ms, {}, 0}; }
// Reads one command line; a line not starting with `prefix` ends the connection.
inline Step expect(std::string prefix) { return {Step::Kind::expect, std::move(prefix), {}, {}, 0}; }
// Ends the connection; over TLS, a close_notify is sent first (and the
// peer's awaited, or its hanging up).
inline Step hang_up() { return {Step::Kind::close, {}, {}, {}, 0}; }
inline Step stall() { return {Step::Kind::stall, {}, {}, {}, 0}; }
// Sends `bytes` `count` times in a row (e.g. a 1 MB line, or 10,000
// continuation lines), written in chunks: the script stays small.
inline Step send_repeated(std::string bytes, std::size_t count) {
  return {Step::Kind::send_repeated, std::move(bytes), {}, {}, count};
}
// Reads whatever arrives next (bytes already buffered, else one read) and
// discards it: e.g. the client's ClientHello, to misbehave in answer to it.
inline Step receive() { return {Step::Kind::receive, {}, {}, {}, 0}; }
// Reads the message after a 354 reply: lines up to and including the
// terminating "." line, each recorded like a command line.
inline Step read_message() { return {Step::Kind::read_message, {}, {}, {}, 0}; }
// Aborts the connection: SO_LINGER 0, then close, so the peer gets a TCP RST
// (over TLS too: no close_notify).
inline Step reset() { return {Step::Kind::reset, {}, {}, {}, 0}; }
// Writes a TLS fatal alert record (handshake_failure, 15 03 03 00 02 02 28)
// in clear on the TCP connection, as a TLS server rejecting a ClientHello
// does. Over an established TLS session it goes under the session: the peer
// sees a record it cannot accept. The connection stays open.
inline Step tls_alert() { return {Step::Kind::tls_alert, {}, {}, {}, 0}; }
// Server side TLS handshake (TLS 1.2 or later) on the connection; every later
// step of that connection goes over TLS. Input read but not yet consumed is
// discarded first, as real servers do after STARTTLS. If the handshake
// fails (e.g. the client rejects the certificate), the connection ends.
// The files are loaded when the server is constructed (bad files throw).
inline Step start_tls(TlsIdentity identity) { return {Step::Kind::start_tls, {}, {}, std::move(identity), 0}; }

using Script = std::vector<Step>;

// The conversation of a well-behaved ESMTP server; `greeting` and `ehlo`
// are complete replies including CR LF.
Script polite_server(std::string greeting = "220 fake.test ESMTP\r\n",
                     std::string ehlo = "250-fake.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n");

// Greeting, EHLO (offering STARTTLS), STARTTLS, handshake, EHLO again over
// TLS, QUIT.
Script starttls_server(TlsIdentity identity,
                       std::string ehlo_before = "250-fake.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
                       std::string ehlo_after = "250-fake.test\r\n250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");

// Accepts one test message (EHLO, MAIL, RCPT, DATA and its 250), then QUIT.
Script accepting_server();

// Implicit TLS ("submissions", port 465): handshake first, then polite_server().
Script implicit_tls_server(TlsIdentity identity);

class FakeSmtpServer {
 public:
  explicit FakeSmtpServer(Script script);
  // Connection N (from 0) plays scripts[N], the last one for every later
  // connection: e.g. greylisting that accepts the second attempt.
  explicit FakeSmtpServer(std::vector<Script> scripts);
  ~FakeSmtpServer();  // stops the thread; stalled connections are closed
  FakeSmtpServer(const FakeSmtpServer&) = delete;
  FakeSmtpServer& operator=(const FakeSmtpServer&) = delete;

  std::uint16_t port() const;
  // Every command line received, in order, CR LF stripped.
  std::vector<std::string> received() const;
  int connections() const;
  // The most conversations that ran at the same time.
  int max_concurrent() const;
  // When each finished conversation started and ended, in order of ending.
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::chrono::steady_clock::time_point>>
  conversations() const;
  // Server-side TLS handshakes that completed.
  int tls_handshakes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smtp_exporter::testing
