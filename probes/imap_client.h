// One IMAP connection of the receive unit: TCP (c-ares for names), implicit
// TLS or STARTTLS, tagged commands and their responses (imap_response.h),
// IDLE. Every operation is bounded by one time point: a timer closes the
// socket when it passes, so a pending read or write completes with an error.
// The log never holds the password (LOGIN is logged with it masked).
//
// GCC 12 (PR 100611): every argument of a co_await'ed call is a named
// variable; coroutine parameters are references whose referents outlive the call.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "imap_response.h"
#include "smtp_exporter/config.h"
#include "smtp_exporter/probe_result.h"
#include "smtp_exporter/tls_context.h"

namespace smtp_exporter::probes {

class ImapClient {
 public:
  ImapClient(const boost::asio::any_io_executor& executor, const config::ReceiveConfig& config,
             std::shared_ptr<TlsContext> tls, const config::DnsConfig& dns, std::chrono::steady_clock::time_point at,
             std::vector<LogEntry>& log);
  ~ImapClient();

  // Resolve, connect, TLS (implicit, or STARTTLS after the greeting), the
  // greeting, LOGIN; then the capabilities after login. False with reason().
  boost::asio::awaitable<bool> open();
  // One command ("SELECT INBOX", without the tag): its untagged responses
  // into `untagged`, the tagged one returned; nullopt on I/O or protocol
  // trouble (reason()). `shown` replaces the command in the log.
  boost::asio::awaitable<std::optional<imap::Response>> command(const std::string& text,
                                                                std::vector<imap::Response>& untagged,
                                                                const std::string& shown = {});
  // IDLE (RFC 2177) until an untagged EXISTS or RECENT arrives or `until`
  // passes, then DONE. False on I/O or protocol trouble (reason()).
  boost::asio::awaitable<bool> idle(std::chrono::steady_clock::time_point until);
  // LOGOUT, best effort.
  boost::asio::awaitable<void> close();

  bool has(std::string_view capability) const;
  FailureReason reason() const { return reason_; }
  const std::string& detail() const { return detail_; }
  int round_trips() const { return round_trips_; }
  bool tls_up() const { return tls_.has_value(); }

 private:
  struct Io;
  boost::asio::awaitable<bool> connect();
  boost::asio::awaitable<bool> handshake();
  boost::asio::awaitable<bool> write(const std::string& bytes);
  boost::asio::awaitable<std::optional<imap::Response>> read_response();
  bool fail(FailureReason reason, std::string detail);
  void note(LogEntry::Kind kind, std::string text);

  const config::ReceiveConfig& config_;
  std::shared_ptr<TlsContext> tls_context_;
  const config::DnsConfig& dns_;
  std::chrono::steady_clock::time_point at_;
  std::vector<LogEntry>& log_;
  std::shared_ptr<Io> io_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  std::string buffer_;
  std::vector<std::string> capabilities_;
  int next_tag_ = 1;
  int round_trips_ = 0;
  bool logged_in_ = false;
  FailureReason reason_ = FailureReason::imap_error;
  std::string detail_;
};

}  // namespace smtp_exporter::probes
