// One SMTP session: the transport every session unit (probes/checks/) talks
// through. It owns the socket, the deadline that closes it, the buffer of
// bytes not yet parsed and, once up, the TLS stream; it reads replies,
// classifies I/O errors into failure reasons, upgrades to TLS, and keeps the
// result's bookkeeping (log, failure, stage times, last reply codes).
//
// GCC 12 destroys class-type temporaries inside a co_await expression twice
// (GCC PR 100611): every argument of a co_await'ed call is a named variable
// or a trivially destructible value.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns.h"
#include "smtp_exporter/deadline.h"
#include "smtp_exporter/probe.h"
#include "smtp_reply.h"
#include "socket_clock.h"

namespace smtp_exporter::probes {

// The I/O objects of one host probe, kept across its attempts (greylisting
// retries reconnect the same socket). Shared with the deadline handler, so
// a handler that runs after the probe has returned never touches freed memory.
struct SessionIo {
  explicit SessionIo(const boost::asio::any_io_executor& ex) : socket(ex), deadline(ex) {}
  std::unique_ptr<DnsResolver> dns;  // created for the first name lookup
  boost::asio::ip::tcp::socket socket;
  boost::asio::steady_timer deadline;
  bool expired = false;

  // Closes the socket (and cancels DNS) when `at` passes.
  void arm(const Deadline& at, const std::shared_ptr<SessionIo>& self);
};

// A unit's part in the TLS handshake (the dane unit): `before` runs on the
// new SSL once SNI and the name check are set (it may replace both);
// `after` runs once the handshake completed. When `after` returns a
// verdict, it replaces the PKIX judgment: nullopt inside means authenticated
// (or, RFC 7672 §2.2, not to be authenticated), a Failure fails the probe.
struct TlsHook {
  std::function<void(SSL* ssl)> before;
  std::function<std::optional<std::optional<Failure>>(SSL* ssl, const std::vector<int>& x509_errors, TlsInfo& tls)>
      after;
};

class SmtpSession {
 public:
  SmtpSession(const ProbeRequest& request, const Deadline& deadline, std::shared_ptr<SessionIo> io,
              ProbeResult& result)
      : request_(request), deadline_(deadline), io_(std::move(io)), result(result) {}

  const ProbeRequest& request() const { return request_; }
  const config::Module& module() const { return request_.module; }

  // Bookkeeping. fail() records the failure (the first one wins), logs it
  // and returns false.
  bool fail(Stage stage, FailureReason reason, std::string detail);
  void note(LogEntry::Kind kind, std::string text);
  // A stage that runs twice (EHLO before and after STARTTLS) adds up.
  void timed(Stage stage, Clock::time_point started, Clock::time_point ended = Clock::now());
  // quit_after: whether the conversation ends after `step` (logged once true).
  bool stopping(config::Step step);
  // Whether the module has expect_code for `stage`.
  bool expects(Stage stage) const;

  // Whether the conversation goes on after the reply to `command`; `usual`
  // says whether it is the step's normal success. With expect_code for the
  // stage, a matching reply is fine (a matching refusal ends the probe
  // here, successfully), and any other fails the probe as unexpected_code,
  // except 4xx, which stays temporary (so greylisting is retried). Without,
  // an unusual reply fails the probe: 4xx as `on_4xx`, 5xx as `on_5xx`,
  // anything else as unexpected_code.
  bool accept(Stage stage, const std::string& command, const Reply& reply, bool usual, FailureReason on_4xx,
              FailureReason on_5xx);

  // Transport.
  boost::asio::awaitable<bool> resolve(boost::asio::ip::tcp::endpoint& chosen);
  boost::asio::awaitable<bool> connect(const boost::asio::ip::tcp::endpoint& endpoint);
  // The TLS handshake on the open connection (implicit TLS, or after a 220
  // to STARTTLS). Verification problems never abort it: they are collected
  // so the certificate facts are reported either way, then judged here.
  boost::asio::awaitable<bool> upgrade_to_tls(Stage stage);
  // One command line; `shown` replaces it in the log (a line with a secret).
  boost::asio::awaitable<bool> send(Stage stage, std::string_view command, bool required,
                                    std::string_view shown = {});
  // Raw bytes (the message data), logged as `shown`.
  boost::asio::awaitable<bool> write(Stage stage, const std::string& bytes, bool required, std::string_view shown);
  // Reads until a whole reply is buffered; sets last_code and the enhanced
  // status code. On failure records it when `required`, else only logs.
  boost::asio::awaitable<std::optional<Reply>> read_reply(Stage stage, bool required);
  // Best effort, bounded by a short grace: never fails the probe, and keeps
  // the last meaningful reply code (not QUIT's 221).
  boost::asio::awaitable<void> quit();

  // The EHLO argument: the configured name, else an address literal of our
  // end of the connection (RFC 5321 §4.1.4), which every server accepts.
  std::string ehlo_argument() const;
  bool tls_up() const { return tls_.has_value(); }
  // For the next handshake(s) of this session.
  void set_tls_hook(TlsHook hook) { tls_hook_ = std::move(hook); }
  // Bytes received and not yet parsed (after STARTTLS's 220 there must be none).
  bool has_unread_bytes() const { return !buffer_.empty(); }
  // When the TCP handshake ended (or the implicit TLS one): the greeting's clock starts here.
  Clock::time_point connected_at() const { return connected_at_; }
  void restart_greeting_clock() { connected_at_ = Clock::now(); }
  // When the kernel received the first bytes of the last reply read, if it said.
  std::optional<Clock::time_point> reply_arrived() const { return reply_arrived_; }

 private:
  FailureReason classify(const boost::system::error_code& ec) const;
  std::string describe(const boost::system::error_code& ec) const;
  boost::asio::awaitable<boost::system::error_code> read_some();
  void log_received(std::string_view raw);

  const ProbeRequest& request_;
  const Deadline& deadline_;
  std::shared_ptr<SessionIo> io_;
  std::shared_ptr<TlsContext> tls_context_;  // the request's, or built from the module on first use
  std::string buffer_;                       // bytes received and not yet parsed
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;  // once up, all I/O goes through it
  std::vector<int> x509_errors_;  // verification problems seen during the handshake
  TlsHook tls_hook_;
  Clock::time_point connected_at_;
  std::optional<Clock::time_point> reply_arrived_;

 public:
  ProbeResult& result;
};

}  // namespace smtp_exporter::probes
