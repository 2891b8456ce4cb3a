// The SMTP conversation of one probe: resolve → connect → greeting → EHLO
// (HELO fallback) → QUIT. One coroutine per probe on the caller's executor;
// a single deadline timer closes the socket, which ends any pending step.
//
// GCC 12 destroys class-type temporaries inside a co_await expression twice
// (GCC PR 100611): every argument of a co_await'ed call here is a named
// variable or a trivially destructible value.
#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <algorithm>
#include <array>
#include <iterator>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>

#include "dns.h"
#include "ehlo.h"
#include "host_probe.h"
#include "smtp_exporter/check.h"
#include "smtp_exporter/probe.h"
#include "smtp_reply.h"
#include "socket_clock.h"
#include "tls.h"
#include "transaction.h"
#include "verdict.h"

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


// The I/O objects of one probe. Shared with the deadline handler, so a
// handler that runs after the probe has returned never touches freed memory.
struct Io {
  explicit Io(const asio::any_io_executor& ex) : socket(ex), deadline(ex) {}
  std::unique_ptr<DnsResolver> dns;  // created for the first name lookup
  tcp::socket socket;
  asio::steady_timer deadline;
  bool expired = false;

  void arm(std::chrono::milliseconds timeout, const std::shared_ptr<Io>& self) {
    deadline.expires_after(timeout);
    deadline.async_wait([weak = std::weak_ptr<Io>(self)](const error_code& ec) {
      auto io = weak.lock();
      if (ec || !io) return;
      io->expired = true;
      if (io->dns) io->dns->cancel();
      error_code ignored;
      io->socket.close(ignored);  // completes any pending read/write/connect
    });
  }
};

class Conversation {
 public:
  Conversation(ProbeRequest request, std::shared_ptr<Io> io)
      : request_(std::move(request)), io_(std::move(io)) {}

  asio::awaitable<void> run() {
    note(LogEntry::Kind::info, "Beginning probe of " + request_.host + " port " +
                                   std::to_string(request_.port) + " with a " +
                                   config::format_duration(request_.timeout) + " deadline");
    tcp::endpoint endpoint;
    if (!co_await resolve(endpoint)) co_return;
    using config::Step;
    if (!co_await connect(endpoint)) co_return;
    if (stopping(Step::connect)) co_return;  // no greeting read: nothing to QUIT
    const config::TlsMode mode = request_.module.tls;
    if (mode == config::TlsMode::implicit) {
      if (!co_await handshake(Stage::tls)) co_return;
      if (stopping(Step::tls)) co_return;
      connected_at_ = Clock::now();  // the greeting is awaited once the TLS channel is up
    }
    if (!co_await greeting()) co_return;
    if (request_.module.expect_banner_code / 100 != 2) {
      // A refusal was expected (e.g. 554 for a blocked client) and came:
      // there is nothing more to ask this server.
      co_await quit();
      co_return;
    }
    if (stopping(Step::banner)) co_return co_await quit();
    if (!co_await ehlo()) co_return;
    if (stopping(Step::ehlo)) co_return co_await quit();
    if (mode == config::TlsMode::starttls || mode == config::TlsMode::opportunistic) {
      if (*result.starttls_offered) {
        if (!co_await starttls()) co_return;
        if (stopping(Step::tls)) co_return co_await quit();
        if (!co_await ehlo()) co_return;  // RFC 3207 §4.2: forget what was learned before TLS
      } else if (mode == config::TlsMode::starttls) {
        fail(Stage::starttls, FailureReason::not_offered, "the server does not advertise STARTTLS");
        co_await quit();
        co_return;
      } else {
        note(LogEntry::Kind::info, "STARTTLS not offered; continuing without TLS (opportunistic)");
        if (stopping(Step::tls)) co_return co_await quit();
      }
    }
    if (request_.module.auth && !co_await authenticate()) co_return;
    if (!request_.module.auth && expects(Stage::auth) && !co_await auth_without_credentials()) co_return;
    if (stopping(Step::auth)) co_return co_await quit();
    if (request_.module.send && !co_await send_message()) co_return;
    co_await quit();
  }

  ProbeResult result;

 private:
  // Records the failure (the first one wins) and logs it.
  bool fail(Stage stage, FailureReason reason, std::string detail) {
    note(LogEntry::Kind::error, std::string(to_string(stage)) + " failed (" +
                                    std::string(to_string(reason)) + "): " + detail);
    if (!result.failure) result.failure = Failure{stage, reason, std::move(detail)};
    return false;
  }

  // quit_after: whether the conversation ends after `step`.
  bool stopping(config::Step step) {
    if (request_.module.quit_after != step) return false;
    note(LogEntry::Kind::info, "Stopping after " + std::string(config::to_string(step)) + " (quit_after)");
    return true;
  }

  bool expects(Stage stage) const { return request_.module.expect_code.contains(std::string(to_string(stage))); }

  // Whether the conversation goes on after the reply to `command`; `usual`
  // says whether it is the step's normal success. With expect_code for the
  // stage, a matching reply is fine (a matching refusal ends the probe
  // here, successfully), and any other fails the probe as unexpected_code,
  // except 4xx, which stays temporary (so greylisting is retried). Without,
  // an unusual reply fails the probe: 4xx as `on_4xx`, 5xx as `on_5xx`,
  // anything else as unexpected_code.
  bool accept(Stage stage, const std::string& command, const Reply& reply, bool usual, FailureReason on_4xx,
              FailureReason on_5xx) {
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

  FailureReason classify(const error_code& ec) const {
    namespace err = asio::error;
    if (io_->expired) return FailureReason::timeout;
    if (ec == err::eof || ec == err::connection_reset || ec == err::broken_pipe ||
        ec == err::connection_aborted || ec == asio::ssl::error::stream_truncated)
      return FailureReason::closed;
    if (ec == err::connection_refused) return FailureReason::refused;
    // An alert, a bad record or a failed check inside TLS (not a dropped connection).
    if (ec.category() == asio::error::get_ssl_category()) return FailureReason::tls_error;
    if (ec == err::network_unreachable || ec == err::host_unreachable) return FailureReason::unreachable;
    return FailureReason::connection_error;
  }

  std::string describe(const error_code& ec) const {
    if (io_->expired) return "deadline of " + config::format_duration(request_.timeout) + " exceeded";
    if (ec == asio::error::eof) return "connection closed by the server";
    if (ec == asio::ssl::error::stream_truncated) return "connection closed by the server (no TLS close_notify)";
    return ec.message();
  }

  void note(LogEntry::Kind kind, std::string text) {
    result.log.push_back({std::chrono::system_clock::now(), kind, std::move(text)});
  }

  // A stage that runs twice (EHLO before and after STARTTLS) adds up.
  void timed(Stage stage, Clock::time_point started, Clock::time_point ended = Clock::now()) {
    double seconds = seconds_between(started, ended);
    for (auto& [s, total] : result.stage_seconds)
      if (s == stage) {
        total += seconds;
        return;
      }
    result.stage_seconds.emplace_back(stage, seconds);
  }

  asio::awaitable<bool> resolve(tcp::endpoint& chosen) {
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
    note(LogEntry::Kind::info, "Using address " + result.ip + " (" + std::to_string(endpoints.size()) +
                                   " address(es) found)");
    co_return true;
  }

  asio::awaitable<bool> connect(const tcp::endpoint& endpoint) {
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

  asio::awaitable<bool> greeting() {
    auto reply = co_await read_reply(Stage::banner, true);
    const Clock::time_point arrived = reply_arrived_.value_or(Clock::now());
    timed(Stage::banner, connected_at_, arrived);
    if (!reply) co_return false;
    result.banner_latency_seconds = seconds_between(connected_at_, arrived);
    result.banner_code = reply->code;
    result.banner_lines = reply->lines;
    if (reply->code != request_.module.expect_banner_code) {
      fail(Stage::banner, FailureReason::unexpected_code,
           "greeting code " + std::to_string(reply->code) + ", expected " +
               std::to_string(request_.module.expect_banner_code) + ": " + printable(reply->lines.front()));
      co_await quit();  // a 554 greeting still expects QUIT (RFC 5321 §3.1)
      co_return false;
    }
    co_return true;
  }

  // The EHLO argument: the configured name, else an address literal of our
  // end of the connection (RFC 5321 §4.1.4), which every server accepts.
  std::string ehlo_argument() const {
    if (!request_.module.ehlo_name.empty()) return request_.module.ehlo_name;
    error_code ec;
    auto local = io_->socket.local_endpoint(ec).address();
    if (ec) return "[127.0.0.1]";
    return local.is_v6() ? "[IPv6:" + local.to_string() + "]" : "[" + local.to_string() + "]";
  }

  asio::awaitable<bool> ehlo() {
    auto started = Clock::now();
    std::optional<Reply> reply;
    std::string_view command = "EHLO";
    const std::string name = ehlo_argument();
    std::string ehlo = "EHLO " + name, helo = "HELO " + name;
    if (co_await send(Stage::ehlo, ehlo, true)) reply = co_await read_reply(Stage::ehlo, true);
    if (reply && reply->code / 100 == 5 && !expects(Stage::ehlo)) {
      // RFC 5321 §3.2: a server that rejects EHLO may still speak plain SMTP.
      note(LogEntry::Kind::info, "EHLO rejected with " + std::to_string(reply->code) + ", trying HELO");
      command = "HELO";
      reply.reset();
      if (co_await send(Stage::ehlo, helo, true)) reply = co_await read_reply(Stage::ehlo, true);
    }
    timed(Stage::ehlo, started);
    if (!reply) co_return false;
    if (!accept(Stage::ehlo, std::string(command), *reply, reply->code == 250, FailureReason::unexpected_code,
                FailureReason::unexpected_code)) {
      co_await quit();
      co_return false;
    }
    result.helo_fallback = command == "HELO";
    result.ehlo_greeting = reply->lines.empty() ? "" : reply->lines.front();
    result.extensions.clear();
    result.auth_mechanisms.clear();
    result.size_limit.reset();
    if (!result.helo_fallback) {
      EhloInfo info = parse_ehlo(*reply);
      for (const auto& line : info.ignored_lines)
        note(LogEntry::Kind::info, "Ignoring malformed EHLO line \"" + printable(line) + "\"");
      if (info.size_unparsable)
        note(LogEntry::Kind::info, "SIZE parameter \"" + printable(*info.size_unparsable) +
                                       "\" is not a number this probe can read: no size limit reported");
      result.extensions = std::move(info.extensions);
      result.size_limit = info.size_limit;
      result.auth_mechanisms = std::move(info.auth_mechanisms);
    }
    if (!tls_) {
      auto advertised = [&](std::string_view keyword) {
        return std::any_of(result.extensions.begin(), result.extensions.end(),
                           [&](const EhloExtension& e) { return e.keyword == keyword; });
      };
      result.starttls_offered = advertised("STARTTLS");
      result.auth_before_tls = advertised("AUTH");
    }
    co_return true;
  }

  // STARTTLS (RFC 3207): 220, then the handshake on the same connection.
  asio::awaitable<bool> starttls() {
    auto started = Clock::now();
    if (!co_await send(Stage::starttls, "STARTTLS", true)) co_return false;
    auto reply = co_await read_reply(Stage::starttls, true);
    timed(Stage::starttls, started);
    if (!reply) co_return false;
    if (!accept(Stage::starttls, "STARTTLS", *reply, reply->code == 220, FailureReason::unexpected_code,
                FailureReason::unexpected_code)) {
      co_await quit();
      co_return false;
    }
    // Bytes sent before the handshake would be read as if they came over TLS
    // (the CVE-2011-0411 injection): a correct server sends none.
    if (!buffer_.empty())
      co_return fail(Stage::starttls, FailureReason::protocol_error,
                     "the server sent data after its 220 reply to STARTTLS");
    co_return co_await handshake(Stage::starttls);
  }

  // TLS handshake. Verification problems never abort it: they are collected
  // so the certificate facts are reported either way, then judged here.
  asio::awaitable<bool> handshake(Stage stage) {
    auto started = Clock::now();
    if (!request_.tls_context) request_.tls_context = make_tls_context(request_.module.tls_config);
    tls_.emplace(io_->socket, request_.tls_context->ssl);
    const std::string& server_name = !request_.server_name.empty()                   ? request_.server_name
                                     : !request_.module.tls_config.server_name.empty() ? request_.module.tls_config.server_name
                                                                                        : request_.host;
    prepare_session(tls_->native_handle(), server_name);
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
    if (tls.verified) co_return true;
    std::string problems;
    for (const auto& e : tls.verify_errors) problems += (problems.empty() ? "" : ", ") + e;
    std::string detail = "certificate not verified (" + problems + ")" +
                         (tls.verify_detail.empty() ? "" : ": " + tls.verify_detail);
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

  // SMTP AUTH (RFC 4954) with the strongest mechanism both sides know. The
  // secret never reaches the log: the lines carrying it are shown masked.
  asio::awaitable<bool> authenticate() {
    result.auth_success = false;
    auto started = Clock::now();
    bool ok = co_await auth_exchange();
    timed(Stage::auth, started);
    if (!ok) {
      co_await quit();
      co_return false;
    }
    result.auth_success = true;
    note(LogEntry::Kind::info, "Authenticated as " + request_.module.auth->username + " with " + result.auth_mechanism);
    co_return true;
  }

  asio::awaitable<bool> auth_exchange() {
    const config::AuthConfig& auth = *request_.module.auth;
    if (!result.tls_established && !auth.allow_plaintext_auth)
      co_return fail(Stage::auth, FailureReason::plaintext_auth_refused,
                     "the connection is not encrypted and allow_plaintext_auth is off; credentials not sent");
    bool offered = std::any_of(result.extensions.begin(), result.extensions.end(),
                               [](const EhloExtension& e) { return e.keyword == "AUTH"; });
    if (!offered) co_return fail(Stage::auth, FailureReason::not_offered, "the server does not advertise AUTH");
    std::string mechanism = choose_mechanism(auth.mechanisms, result.auth_mechanisms);
    if (mechanism.empty()) {
      std::string theirs, ours;
      for (const auto& m : result.auth_mechanisms) theirs += (theirs.empty() ? "" : " ") + m;
      for (const auto& m : auth.mechanisms) ours += (ours.empty() ? "" : " ") + m;
      co_return fail(Stage::auth, FailureReason::not_offered,
                     "no common AUTH mechanism (server: " + printable(theirs) + "; configured: " + ours + ")");
    }
    result.auth_mechanism = mechanism;
    std::optional<Reply> reply;
    if (mechanism == "PLAIN") {
      std::string credentials = std::string(1, '\0') + auth.username + std::string(1, '\0') + auth.password;
      std::string command = "AUTH PLAIN " + base64_encode(credentials);
      std::string shown = "AUTH PLAIN <credentials hidden>";
      if (!co_await send(Stage::auth, command, true, shown)) co_return false;
      reply = co_await read_reply(Stage::auth, true);
    } else {
      std::string command = "AUTH " + mechanism;
      if (!co_await send(Stage::auth, command, true)) co_return false;
      reply = co_await read_reply(Stage::auth, true);
      if (!reply) co_return false;
      if (reply->code != 334) co_return auth_verdict(*reply);
      std::string first, shown;
      if (mechanism == "LOGIN") {
        first = base64_encode(auth.username);
        shown = first;  // the user name is no secret
      } else {
        auto challenge = base64_decode(reply->lines.front());
        if (!challenge) {
          std::string cancel = "*";
          co_await send(Stage::auth, cancel, false);
          co_return fail(Stage::auth, FailureReason::protocol_error, "the CRAM-MD5 challenge is not base64");
        }
        first = base64_encode(cram_md5_response(auth.username, auth.password, *challenge));
        shown = "<CRAM-MD5 response hidden>";
      }
      if (!co_await send(Stage::auth, first, true, shown)) co_return false;
      reply = co_await read_reply(Stage::auth, true);
      if (reply && reply->code == 334 && mechanism == "LOGIN") {
        std::string password = base64_encode(auth.password);
        std::string hidden = "<password hidden>";
        if (!co_await send(Stage::auth, password, true, hidden)) co_return false;
        reply = co_await read_reply(Stage::auth, true);
      }
    }
    if (!reply) co_return false;
    co_return auth_verdict(*reply);
  }

  bool auth_verdict(const Reply& reply) {
    return accept(Stage::auth, "AUTH " + result.auth_mechanism, reply, reply.code == 235,
                  FailureReason::temporary_failure, FailureReason::auth_error);
  }

  // In the mail transaction, 4xx is temporary (retry later), 5xx permanent.
  bool accept_transaction(Stage stage, const std::string& command, const Reply& reply, bool usual) {
    return accept(stage, command, reply, usual, FailureReason::temporary_failure, FailureReason::permanent_failure);
  }

  // expect_code.auth: AUTH without credentials, to check that the server
  // refuses it here (e.g. 530 before STARTTLS). A 334 challenge is
  // cancelled (RFC 4954 §4), so no secret is ever sent.
  asio::awaitable<bool> auth_without_credentials() {
    auto started = Clock::now();
    std::string mechanism = choose_mechanism({"PLAIN", "LOGIN", "CRAM-MD5"}, result.auth_mechanisms);
    std::string command = "AUTH " + (mechanism.empty() ? std::string("PLAIN") : mechanism);
    std::optional<Reply> reply;
    if (co_await send(Stage::auth, command, true)) reply = co_await read_reply(Stage::auth, true);
    if (reply && reply->code == 334) {
      auto last_code = result.last_code;  // the 334 is the answer that counts, not the cancel's 501
      std::string cancel = "*";
      if (co_await send(Stage::auth, cancel, false)) co_await read_reply(Stage::auth, false);
      result.last_code = last_code;
    }
    timed(Stage::auth, started);
    if (!reply) co_return false;
    // Nothing is usual here: only an expected reply lets the probe succeed.
    if (!accept(Stage::auth, command, *reply, false, FailureReason::temporary_failure, FailureReason::unexpected_code)) {
      co_await quit();
      co_return false;
    }
    co_return true;
  }

  // MAIL FROM, RCPT TO for each recipient, DATA: a real test message.
  asio::awaitable<bool> send_message() {
    const config::SendConfig& message = *request_.module.send;
    auto started = Clock::now();
    std::string mail = "MAIL FROM:<" + message.from + ">";
    std::optional<Reply> reply;
    if (co_await send(Stage::mail, mail, true)) reply = co_await read_reply(Stage::mail, true);
    timed(Stage::mail, started);
    if (!reply) co_return false;
    if (!accept_transaction(Stage::mail, "MAIL FROM", *reply, reply->code == 250) || stopping(config::Step::mail)) {
      co_await quit();
      co_return false;
    }

    started = Clock::now();
    std::vector<Reply> replies;
    for (const auto& address : message.to) {
      std::string rcpt = "RCPT TO:<" + address + ">";
      reply.reset();
      if (co_await send(Stage::rcpt, rcpt, true)) reply = co_await read_reply(Stage::rcpt, true);
      if (!reply) {
        timed(Stage::rcpt, started);
        co_return false;
      }
      result.recipients.push_back({address, reply->code});
      replies.push_back(std::move(*reply));
    }
    timed(Stage::rcpt, started);
    // Every recipient is judged, so a foreign address that is accepted (an
    // open relay) fails the probe even after an expected refusal.
    bool go_on = true;
    for (std::size_t i = 0; i < replies.size(); ++i) {
      std::string command = "RCPT TO:<" + message.to[i] + ">";
      if (!accept_transaction(Stage::rcpt, command, replies[i], replies[i].code == 250 || replies[i].code == 251))
        go_on = false;
    }
    if (!go_on || stopping(config::Step::rcpt)) {
      co_await quit();
      co_return false;
    }

    started = Clock::now();
    bool ok = co_await data();
    timed(Stage::data, started);
    if (!ok) {
      co_await quit();
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<bool> data() {
    std::optional<Reply> reply;
    if (co_await send(Stage::data, "DATA", true)) reply = co_await read_reply(Stage::data, true);
    if (!reply) co_return false;
    // expect_code.data judges DATA's reply unless it is 354, else the reply
    // to the message.
    if (reply->code != 354) {
      accept_transaction(Stage::data, "DATA", *reply, false);
      co_return false;
    }
    MessageFields fields = message_fields(std::chrono::system_clock::now(), random_token(), ehlo_argument());
    std::string text = build_message(*request_.module.send, fields);
    result.message_token = fields.token;
    // The payload already ends with CR LF . CR LF.
    std::string shown = "<message of " + std::to_string(text.size()) + " bytes, token " + fields.token + ">";
    if (!co_await write(Stage::data, text, true, shown)) co_return false;
    reply = co_await read_reply(Stage::data, true);
    if (!reply) co_return false;
    if (!accept_transaction(Stage::data, "end of data", *reply, reply->code == 250)) co_return false;
    result.message_accepted = true;
    note(LogEntry::Kind::info, "Message accepted (token " + fields.token + ")");
    co_return true;
  }

  // Best effort: a server that hangs up instead of answering 221 has still
  // done its job, so nothing here fails the probe.
  // probe_smtp_status_code keeps the last meaningful reply, not QUIT's 221.
  asio::awaitable<void> quit() {
    if (!io_->socket.is_open()) co_return;
    auto started = Clock::now();
    auto last_code = result.last_code;
    auto enhanced = result.enhanced_status_code;
    if (co_await send(Stage::quit, "QUIT", false)) {
      // The probe's answer is known by now: a server that never answers
      // QUIT must not hold it until the deadline.
      asio::steady_timer grace(io_->socket.get_executor(), kQuitGrace);
      grace.async_wait([weak = std::weak_ptr<Io>(io_)](const error_code& ec) {
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

  // One command line; `shown` replaces it in the log (a line with a secret).
  asio::awaitable<bool> send(Stage stage, std::string_view command, bool required, std::string_view shown = {}) {
    std::string line = std::string(command) + "\r\n";
    co_return co_await write(stage, line, required, shown.empty() ? command : shown);
  }

  asio::awaitable<bool> write(Stage stage, const std::string& line, bool required, std::string_view shown) {
    note(LogEntry::Kind::sent, std::string(shown));
    error_code ec;
    if (tls_) {
      co_await asio::async_write(*tls_, asio::buffer(line), asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_write(io_->socket, asio::buffer(line), asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!ec) co_return true;
    if (required) co_return fail(stage, classify(ec), "sending: " + describe(ec));
    note(LogEntry::Kind::info, std::string(to_string(stage)) + ": " + describe(ec));
    co_return false;
  }

  // Reads until a whole reply is buffered. reply_arrived_ is set to when the
  // kernel received its first bytes read here, if it timestamped them.
  asio::awaitable<std::optional<Reply>> read_reply(Stage stage, bool required) {
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
  asio::awaitable<error_code> read_some() {
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

  void log_received(std::string_view raw) {
    while (!raw.empty()) {
      std::size_t eol = raw.find('\n');
      std::string_view line = raw.substr(0, eol);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      note(LogEntry::Kind::received, printable(line, 200));
      raw.remove_prefix(eol == std::string_view::npos ? raw.size() : eol + 1);
    }
  }

  ProbeRequest request_;
  std::shared_ptr<Io> io_;
  std::string buffer_;  // bytes received and not yet parsed
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;  // set once TLS is up; then all I/O goes through it
  std::vector<int> x509_errors_;                          // verification problems seen during the handshake
  Clock::time_point connected_at_;
  std::optional<Clock::time_point> reply_arrived_;  // of the last reply read, by the kernel's clock
};

}  // namespace

asio::awaitable<ProbeResult> run_host_probe(const ProbeRequest& request) {
  auto started = Clock::now();
  auto io = std::make_shared<Io>(co_await asio::this_coro::executor);
  io->arm(request.timeout, io);
  ProbeResult result;
  std::vector<LogEntry> earlier_log;  // of the attempts before this one
  error_code ignored;
  for (int attempt = 1;; ++attempt) {
    Conversation conversation(request, io);
    co_await conversation.run();
    io->socket.close(ignored);
    result = std::move(conversation.result);
    if (request.module.auth || request.module.send) result.attempts = attempt;
    bool temporary = result.failure && result.failure->reason == FailureReason::temporary_failure;
    if (!temporary || attempt > request.module.retries || io->expired) break;
    // Greylisting: wait, then start over on a new connection (the socket
    // reopens on connect), all within the one deadline.
    auto left = request.timeout - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    if (left <= request.module.retry_delay) {
      result.log.push_back({std::chrono::system_clock::now(), LogEntry::Kind::info,
                            "Not retrying: the retry delay of " + config::format_duration(request.module.retry_delay) +
                                " would pass the deadline"});
      break;
    }
    result.log.push_back({std::chrono::system_clock::now(), LogEntry::Kind::info,
                          "Temporary failure; retrying in " + config::format_duration(request.module.retry_delay) +
                              " (attempt " + std::to_string(attempt + 1) + " of " +
                              std::to_string(request.module.retries + 1) + ")"});
    earlier_log.insert(earlier_log.end(), std::make_move_iterator(result.log.begin()),
                       std::make_move_iterator(result.log.end()));
    asio::steady_timer wait(io->socket.get_executor(), request.module.retry_delay);
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  io->deadline.cancel();
  io->socket.close(ignored);
  // The check units that run after the session (smtp_exporter/check.h).
  const Clock::time_point deadline = started + request.timeout;
  co_await run_checks(request, result, deadline);
  if (!earlier_log.empty()) {
    earlier_log.insert(earlier_log.end(), std::make_move_iterator(result.log.begin()),
                       std::make_move_iterator(result.log.end()));
    result.log = std::move(earlier_log);
  }
  finish(result, started, request);
  co_return result;
}

}  // namespace smtp_exporter::probes
