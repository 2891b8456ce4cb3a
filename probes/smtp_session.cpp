// The transport of one SMTP session (smtp_session.h).
#include "smtp_session.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "tls.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

// Bytes asked of the kernel per read: replies are short, and a probe waiting
// for one holds no buffer (the read waits for readability first).
constexpr std::size_t kReadSize = 1024;

// How long the reply to QUIT is awaited (within the probe's deadline).
constexpr auto kQuitGrace = std::chrono::seconds(1);

double seconds_between(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double>(end - start).count();
}

}  // namespace

void SessionIo::arm(const Deadline& at, const std::shared_ptr<SessionIo>& self) {
  deadline.expires_at(at.at());
  deadline.async_wait([weak = std::weak_ptr<SessionIo>(self)](const error_code& ec) {
    auto io = weak.lock();
    if (ec || !io) return;
    io->expired = true;
    if (io->dns) io->dns->cancel();
    error_code ignored;
    io->socket.close(ignored);  // completes any pending read/write/connect
  });
}

bool SmtpSession::fail(Stage stage, FailureReason reason, std::string detail) {
  note(LogEntry::Kind::error,
       std::string(to_string(stage)) + " failed (" + std::string(to_string(reason)) + "): " + detail);
  if (!result.failure) result.failure = Failure{stage, reason, std::move(detail)};
  return false;
}

void SmtpSession::note(LogEntry::Kind kind, std::string text) {
  result.log.push_back({std::chrono::system_clock::now(), kind, std::move(text)});
}

void SmtpSession::timed(Stage stage, Clock::time_point started, Clock::time_point ended) {
  double seconds = seconds_between(started, ended);
  for (auto& [s, total] : result.stage_seconds)
    if (s == stage) {
      total += seconds;
      return;
    }
  result.stage_seconds.emplace_back(stage, seconds);
}

bool SmtpSession::stopping(config::Step step) {
  if (request_.module.quit_after != step) return false;
  note(LogEntry::Kind::info, "Stopping after " + std::string(config::to_string(step)) + " (quit_after)");
  return true;
}

bool SmtpSession::expects(Stage stage) const {
  return request_.module.expect_code.contains(std::string(to_string(stage)));
}

bool SmtpSession::accept(Stage stage, const std::string& command, const Reply& reply, bool usual,
                         FailureReason on_4xx, FailureReason on_5xx) {
  std::string answered = command + " answered " + std::to_string(reply.code);
  auto expected = request_.module.expect_code.find(std::string(to_string(stage)));
  if (expected != request_.module.expect_code.end()) {
    if (config::code_matches(expected->second, reply.code)) {
      if (!usual) note(LogEntry::Kind::info, answered + " as expected (expect_code); the probe ends here");
      return usual;
    }
    if (reply.code / 100 != 4) {
      std::string patterns;
      for (const auto& p : expected->second) patterns += (patterns.empty() ? "" : " or ") + p;
      return fail(stage, FailureReason::unexpected_code,
                  answered + ", expected " + patterns + ": " + printable(reply.lines.front()));
    }
  } else if (usual) {
    return true;
  }
  FailureReason reason = reply.code / 100 == 4   ? on_4xx
                         : reply.code / 100 == 5 ? on_5xx
                                                 : FailureReason::unexpected_code;
  return fail(stage, reason, answered + ": " + printable(reply.lines.front()));
}

FailureReason SmtpSession::classify(const error_code& ec) const {
  namespace err = asio::error;
  if (io_->expired) return FailureReason::timeout;
  if (ec == err::eof || ec == err::connection_reset || ec == err::broken_pipe || ec == err::connection_aborted ||
      ec == asio::ssl::error::stream_truncated)
    return FailureReason::closed;
  if (ec == err::connection_refused) return FailureReason::refused;
  // An alert, a bad record or a failed check inside TLS (not a dropped connection).
  if (ec.category() == asio::error::get_ssl_category()) return FailureReason::tls_error;
  if (ec == err::network_unreachable || ec == err::host_unreachable) return FailureReason::unreachable;
  return FailureReason::connection_error;
}

std::string SmtpSession::describe(const error_code& ec) const {
  if (io_->expired) return "deadline of " + config::format_duration(deadline_.budget()) + " exceeded";
  if (ec == asio::error::eof) return "connection closed by the server";
  if (ec == asio::ssl::error::stream_truncated) return "connection closed by the server (no TLS close_notify)";
  return ec.message();
}

asio::awaitable<bool> SmtpSession::resolve(tcp::endpoint& chosen) {
  auto started = Clock::now();
  error_code ec;
  std::vector<tcp::endpoint> endpoints;
  auto literal = asio::ip::make_address(request_.address.empty() ? request_.host : request_.address, ec);
  if (!ec) {
    endpoints.emplace_back(literal, request_.port);
    timed(Stage::resolve, started);  // an address literal needs no lookup
  } else {
    note(LogEntry::Kind::info, "Resolving " + request_.host);
    try {
      io_->dns = std::make_unique<DnsResolver>(io_->socket.get_executor(), dns_options(request_.module.dns));
    } catch (const std::exception& e) {
      co_return fail(Stage::resolve, FailureReason::dns_error, e.what());
    }
    AddressLookup lookup = co_await io_->dns->addresses(request_.host);
    timed(Stage::resolve, started);
    if (lookup.error != DnsError::none)
      co_return fail(Stage::resolve, failure_reason(lookup.error, io_->expired),
                     "resolving " + request_.host + ": " + (io_->expired ? describe(ec) : lookup.detail));
    for (const auto& address : lookup.addresses) endpoints.emplace_back(address, request_.port);
  }

  bool want_v6 = request_.module.ip_protocol == config::IpProtocol::ip6;
  auto pick = [&](bool v6) -> const tcp::endpoint* {
    for (const auto& e : endpoints)
      if (e.address().is_v6() == v6) return &e;
    return nullptr;
  };
  const tcp::endpoint* found = pick(want_v6);
  if (!found && request_.module.ip_protocol_fallback) found = pick(!want_v6);
  if (!found)
    co_return fail(Stage::resolve, FailureReason::nodata,
                   request_.host + " has no " + (want_v6 ? "IPv6" : "IPv4") +
                       " address and ip_protocol_fallback is off");
  chosen = *found;
  result.ip = chosen.address().to_string();
  result.ip_protocol = chosen.address().is_v6() ? 6 : 4;
  note(LogEntry::Kind::info,
       "Using address " + result.ip + " (" + std::to_string(endpoints.size()) + " address(es) found)");
  co_return true;
}

asio::awaitable<bool> SmtpSession::connect(const tcp::endpoint& endpoint) {
  auto started = Clock::now();
  error_code ec;
  note(LogEntry::Kind::info, "Connecting to " + result.ip + " port " + std::to_string(request_.port));
  co_await io_->socket.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    timed(Stage::connect, started);
    if (ec != asio::error::connection_reset) co_return fail(Stage::connect, classify(ec), describe(ec));
    // ECONNRESET, unlike ECONNREFUSED, means that the handshake completed: the server
    // accepted the connection and reset it before the loop saw the connect finish. That is
    // the same fault as a reset a moment later, while we wait for the greeting; and with
    // quit_after = "connect" the probe's question is answered.
    note(LogEntry::Kind::info, "TCP connection established, then reset by the server");
    if (request_.module.quit_after == config::Step::connect) co_return true;
    co_return fail(Stage::banner, classify(ec), describe(ec));
  }
  // The kernel's times, not the loop's: see socket_clock.h.
  connected_at_ = handshake_done(io_->socket.native_handle(), started, Clock::now());
  timed(Stage::connect, started, connected_at_);
  enable_receive_timestamps(io_->socket.native_handle());
  note(LogEntry::Kind::info, "TCP connection established");
  co_return true;
}

asio::awaitable<bool> SmtpSession::upgrade_to_tls(Stage stage) {
  auto started = Clock::now();
  if (!tls_context_) tls_context_ = request_.tls_context;
  if (!tls_context_) tls_context_ = make_tls_context(request_.module.tls_config);
  asio::ssl::context* context = nullptr;
  try {
    context = &tls_context_->ssl();  // built by the first probe that needs it
  } catch (const std::exception& e) {
    fail(stage, FailureReason::tls_error, std::string("tls_config: ") + e.what());
    co_return false;
  }
  tls_.emplace(io_->socket, *context);
  const std::string& server_name = !request_.server_name.empty()                     ? request_.server_name
                                   : !request_.module.tls_config.server_name.empty() ? request_.module.tls_config.server_name
                                                                                      : request_.host;
  prepare_session(tls_->native_handle(), server_name);
  if (tls_hook_.before) tls_hook_.before(tls_->native_handle());
  tls_->set_verify_mode(asio::ssl::verify_peer);
  tls_->set_verify_callback([errors = &x509_errors_](bool preverified, asio::ssl::verify_context& context) {
    if (!preverified) errors->push_back(X509_STORE_CTX_get_error(context.native_handle()));
    return true;  // judged after the handshake
  });
  note(LogEntry::Kind::info, "Starting TLS handshake (server name " + server_name + ")");
  error_code ec;
  co_await tls_->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  timed(Stage::tls, started);
  if (ec) {
    co_return fail(stage, io_->expired ? FailureReason::timeout : FailureReason::tls_error,
                   "TLS handshake: " + describe(ec));
  }
  result.tls = inspect_session(tls_->native_handle(), x509_errors_, server_name, std::chrono::system_clock::now());
  result.tls_established = true;
  const TlsInfo& tls = *result.tls;
  std::string summary = tls.version + " " + tls.cipher;
  if (!tls.presented_chain.empty())
    summary += ", certificate \"" + tls.presented_chain.front().subject + "\" issued by \"" +
               tls.presented_chain.front().issuer + "\"";
  note(LogEntry::Kind::info, "TLS established: " + summary);
  if (tls_hook_.after) {
    if (auto verdict = tls_hook_.after(tls_->native_handle(), x509_errors_, *result.tls)) {
      if (!*verdict) co_return true;
      Failure failure = **verdict;
      fail(stage, failure.reason, failure.detail);
      co_await quit();
      co_return false;
    }
  }
  if (tls.verified) co_return true;
  std::string problems;
  for (const auto& e : tls.verify_errors) problems += (problems.empty() ? "" : ", ") + e;
  std::string detail =
      "certificate not verified (" + problems + ")" + (tls.verify_detail.empty() ? "" : ": " + tls.verify_detail);
  // Opportunistic TLS does not authenticate the server (RFC 7435), and
  // insecure_skip_verify says not to: report, do not fail.
  if (request_.module.tls_config.insecure_skip_verify || request_.module.tls == config::TlsMode::opportunistic) {
    note(LogEntry::Kind::info, detail + "; not failing the probe");
    co_return true;
  }
  fail(stage, FailureReason::certificate_error, detail);
  co_await quit();
  co_return false;
}

std::string SmtpSession::ehlo_argument() const {
  if (!request_.module.ehlo_name.empty()) return request_.module.ehlo_name;
  error_code ec;
  auto local = io_->socket.local_endpoint(ec).address();
  if (ec) return "[127.0.0.1]";
  return local.is_v6() ? "[IPv6:" + local.to_string() + "]" : "[" + local.to_string() + "]";
}

asio::awaitable<void> SmtpSession::quit() {
  if (!io_->socket.is_open()) co_return;
  auto started = Clock::now();
  auto last_code = result.last_code;
  auto enhanced = result.enhanced_status_code;
  if (co_await send(Stage::quit, "QUIT", false)) {
    // The probe's answer is known by now: a server that never answers
    // QUIT must not hold it until the deadline.
    asio::steady_timer grace(io_->socket.get_executor(), kQuitGrace);
    grace.async_wait([weak = std::weak_ptr<SessionIo>(io_)](const error_code& ec) {
      auto io = weak.lock();
      if (ec || !io) return;
      error_code ignored;
      io->socket.close(ignored);
    });
    co_await read_reply(Stage::quit, false);
  }
  result.last_code = last_code;
  result.enhanced_status_code = enhanced;
  timed(Stage::quit, started);
}

asio::awaitable<bool> SmtpSession::send(Stage stage, std::string_view command, bool required,
                                        std::string_view shown) {
  std::string line = std::string(command) + "\r\n";
  co_return co_await write(stage, line, required, shown.empty() ? command : shown);
}

asio::awaitable<bool> SmtpSession::write(Stage stage, const std::string& bytes, bool required,
                                         std::string_view shown) {
  note(LogEntry::Kind::sent, std::string(shown));
  error_code ec;
  if (tls_) {
    co_await asio::async_write(*tls_, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await asio::async_write(io_->socket, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
  }
  if (!ec) co_return true;
  if (required) co_return fail(stage, classify(ec), "sending: " + describe(ec));
  note(LogEntry::Kind::info, std::string(to_string(stage)) + ": " + describe(ec));
  co_return false;
}

asio::awaitable<std::optional<Reply>> SmtpSession::read_reply(Stage stage, bool required) {
  reply_arrived_.reset();
  while (true) {
    ReplyParse parsed = parse_reply(buffer_);
    if (parsed.status == ReplyParse::Status::complete) {
      log_received(std::string_view(buffer_).substr(0, parsed.consumed));
      buffer_.erase(0, parsed.consumed);
      result.last_code = parsed.reply.code;
      if (!parsed.reply.lines.empty()) {
        std::string enhanced = enhanced_status_code(parsed.reply.code, parsed.reply.lines.front());
        if (!enhanced.empty()) result.enhanced_status_code = std::move(enhanced);
      }
      co_return std::move(parsed.reply);
    }
    if (parsed.status == ReplyParse::Status::error) {
      log_received(buffer_);
      if (required) fail(stage, FailureReason::protocol_error, parsed.error);
      co_return std::nullopt;
    }
    error_code ec = co_await read_some();
    if (ec == asio::error::would_block) continue;
    if (ec) {
      log_received(buffer_);
      std::string detail = describe(ec);
      if (!buffer_.empty()) detail += " after an incomplete reply of " + std::to_string(buffer_.size()) + " bytes";
      if (required) {
        fail(stage, classify(ec), detail);
      } else {
        note(LogEntry::Kind::info, std::string(to_string(stage)) + ": " + detail);
      }
      co_return std::nullopt;
    }
  }
}

// Appends what arrived to buffer_. Plain TCP: waits for readability, then
// one recvmsg() that also brings the kernel's receive timestamp.
asio::awaitable<error_code> SmtpSession::read_some() {
  error_code ec;
  if (tls_) {
    const std::size_t old = buffer_.size();
    buffer_.resize(old + kReadSize);
    auto space = asio::buffer(buffer_.data() + old, kReadSize);
    std::size_t n = co_await tls_->async_read_some(space, asio::redirect_error(asio::use_awaitable, ec));
    buffer_.resize(old + n);
    co_return ec;
  }
  co_await io_->socket.async_wait(tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return ec;
  Received got = receive(io_->socket.native_handle(), buffer_, kReadSize);
  if (got.error == EAGAIN || got.error == EWOULDBLOCK) co_return asio::error::would_block;
  if (got.error) co_return error_code(got.error, asio::error::get_system_category());
  if (got.bytes == 0) co_return asio::error::eof;
  if (!reply_arrived_) reply_arrived_ = got.arrived;
  co_return ec;
}

void SmtpSession::log_received(std::string_view raw) {
  while (!raw.empty()) {
    std::size_t eol = raw.find('\n');
    std::string_view line = raw.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    note(LogEntry::Kind::received, printable(line, 200));
    raw.remove_prefix(eol == std::string_view::npos ? raw.size() : eol + 1);
  }
}

}  // namespace smtp_exporter::probes
