// A scriptable SMTP server for fault injection: it listens on 127.0.0.1 on a
// free port, runs on its own thread and io_context (so its timing does not
// depend on the code under test), and plays the same script on every
// connection: send bytes, wait, read a command line, stall, or hang up.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace smtp_exporter::testing {

struct Step {
  enum class Kind { send, delay, expect, close, stall };
  Kind kind;
  std::string text;                    // send: bytes; expect: the command's prefix
  std::chrono::milliseconds wait{0};   // delay
};

inline Step send(std::string bytes) { return {Step::Kind::send, std::move(bytes), {}}; }
inline Step delay(std::chrono::milliseconds ms) { return {Step::Kind::delay, {}, ms}; }
// Reads one command line; a line not starting with `prefix` ends the connection.
inline Step expect(std::string prefix) { return {Step::Kind::expect, std::move(prefix), {}}; }
inline Step hang_up() { return {Step::Kind::close, {}, {}}; }
inline Step stall() { return {Step::Kind::stall, {}, {}}; }

using Script = std::vector<Step>;

// The conversation of a well-behaved ESMTP server; `greeting` and `ehlo`
// are complete replies including CR LF.
Script polite_server(std::string greeting = "220 fake.test ESMTP\r\n",
                     std::string ehlo = "250-fake.test\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n");

class FakeSmtpServer {
 public:
  explicit FakeSmtpServer(Script script);
  ~FakeSmtpServer();  // stops the thread; stalled connections are closed
  FakeSmtpServer(const FakeSmtpServer&) = delete;
  FakeSmtpServer& operator=(const FakeSmtpServer&) = delete;

  std::uint16_t port() const;
  // Every command line received, in order, CR LF stripped.
  std::vector<std::string> received() const;
  int connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smtp_exporter::testing
