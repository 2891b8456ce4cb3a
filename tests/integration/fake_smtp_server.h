// A scriptable SMTP server for fault injection: it listens on 127.0.0.1 on a
// free port, runs on its own thread and io_context (so its timing does not
// depend on the code under test), and plays the same script on every
// connection: send bytes, wait, read a command line, stall, start TLS, or
// hang up.
#pragma once

#include <atomic>
#include <chrono>
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
  enum class Kind { send, delay, expect, close, stall, start_tls };
  Kind kind;
  std::string text;                    // send: bytes; expect: the command's prefix
  std::chrono::milliseconds wait{0};   // delay
  TlsIdentity tls;                     // start_tls
};

inline Step send(std::string bytes) { return {Step::Kind::send, std::move(bytes), {}, {}}; }
inline Step delay(std::chrono::milliseconds ms) { return {Step::Kind::delay, {}, ms, {}}; }
// Reads one command line; a line not starting with `prefix` ends the connection.
inline Step expect(std::string prefix) { return {Step::Kind::expect, std::move(prefix), {}, {}}; }
// Ends the connection; over TLS, a close_notify is sent first (and the
// peer's awaited, or its hanging up).
inline Step hang_up() { return {Step::Kind::close, {}, {}, {}}; }
inline Step stall() { return {Step::Kind::stall, {}, {}, {}}; }
// Server side TLS handshake (TLS 1.2 or later) on the connection; every later
// step of that connection goes over TLS. Input read but not yet consumed is
// discarded first, as real servers do after STARTTLS. If the handshake
// fails (e.g. the client rejects the certificate), the connection ends.
// The files are loaded when the server is constructed (bad files throw).
inline Step start_tls(TlsIdentity identity) { return {Step::Kind::start_tls, {}, {}, std::move(identity)}; }

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
