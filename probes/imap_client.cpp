// The IMAP connection (imap_client.h).
#include "imap_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <cctype>

#include "dns.h"
#include "smtp_reply.h"
#include "tls.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
constexpr std::size_t kReadSize = 16 * 1024;

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// A response line for the log: printable, bounded.
std::string shown_response(std::string_view raw) {
  if (raw.size() > 300) raw = raw.substr(0, 300);
  std::string out = printable(raw);
  return out;
}

}  // namespace

// The socket and the timer that closes it when the time point passes;
// shared with the timer's handler so a late handler touches no freed memory.
struct ImapClient::Io {
  explicit Io(const asio::any_io_executor& ex) : socket(ex), deadline(ex), idle_timer(ex) {}
  tcp::socket socket;
  asio::steady_timer deadline;
  asio::steady_timer idle_timer;
  std::unique_ptr<BoundedResolver> dns;
  bool expired = false;
};

ImapClient::ImapClient(const asio::any_io_executor& executor, const config::ReceiveConfig& config,
                       std::shared_ptr<TlsContext> tls, const config::DnsConfig& dns,
                       std::chrono::steady_clock::time_point at, std::vector<LogEntry>& log)
    : config_(config), tls_context_(std::move(tls)), dns_(dns), at_(at), log_(log), io_(std::make_shared<Io>(executor)) {
  io_->deadline.expires_at(at);
  io_->deadline.async_wait([weak = std::weak_ptr<Io>(io_)](const error_code& ec) {
    auto io = weak.lock();
    if (ec || !io) return;
    io->expired = true;
    error_code ignored;
    io->socket.close(ignored);  // completes any pending read, write or connect
  });
}

ImapClient::~ImapClient() {
  error_code ignored;
  io_->deadline.cancel();
  io_->idle_timer.cancel();
  io_->socket.close(ignored);
}

bool ImapClient::fail(FailureReason reason, std::string detail) {
  if (detail_.empty()) {
    reason_ = io_->expired && !logged_in_ ? FailureReason::imap_connect : reason;
    if (io_->expired) detail += " (deadline passed)";
    detail_ = detail;
  }
  note(LogEntry::Kind::error, "IMAP: " + detail);
  return false;
}

void ImapClient::note(LogEntry::Kind kind, std::string text) {
  log_.push_back({std::chrono::system_clock::now(), kind, std::move(text)});
}

bool ImapClient::has(std::string_view capability) const {
  std::string wanted = upper(capability);
  return std::find(capabilities_.begin(), capabilities_.end(), wanted) != capabilities_.end();
}

asio::awaitable<bool> ImapClient::connect() {
  std::vector<asio::ip::address> addresses;
  error_code ec;
  auto literal = asio::ip::make_address(config_.imap_host, ec);
  if (!ec) {
    addresses.push_back(literal);
  } else {
    auto executor = co_await asio::this_coro::executor;
    io_->dns = std::make_unique<BoundedResolver>(executor, dns_, at_);
    std::shared_ptr<DnsResolver> resolver = io_->dns->resolver;
    const std::string& host = config_.imap_host;
    AddressLookup lookup = co_await resolver->addresses(host);
    if (lookup.error != DnsError::none || lookup.addresses.empty())
      co_return fail(FailureReason::imap_connect, "resolving " + host + ": " +
                                                      (lookup.detail.empty() ? std::string("no address") : lookup.detail));
    addresses = std::move(lookup.addresses);
  }
  for (const auto& address : addresses) {
    tcp::endpoint endpoint(address, config_.imap_port);
    error_code connect_error;
    io_->socket.close(ec);
    if (io_->expired) break;
    co_await io_->socket.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, connect_error));
    if (!connect_error) {
      note(LogEntry::Kind::info, "IMAP: connected to " + address.to_string() + " port " + std::to_string(config_.imap_port));
      co_return true;
    }
    note(LogEntry::Kind::info, "IMAP: connecting to " + address.to_string() + ": " + connect_error.message());
    if (&address == &addresses.back())
      co_return fail(FailureReason::imap_connect, "connecting to " + config_.imap + ": " + connect_error.message());
  }
  co_return fail(FailureReason::imap_connect, "connecting to " + config_.imap);
}

asio::awaitable<bool> ImapClient::handshake() {
  tls_.emplace(io_->socket, tls_context_->ssl());  // built by imap_tls_context
  const std::string& name = config_.tls_config.server_name.empty() ? config_.imap_host : config_.tls_config.server_name;
  prepare_session(tls_->native_handle(), name);
  tls_->set_verify_mode(config_.tls_config.insecure_skip_verify ? asio::ssl::verify_none : asio::ssl::verify_peer);
  error_code ec;
  co_await tls_->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    tls_.reset();
    co_return fail(FailureReason::imap_connect, "TLS handshake with " + name + ": " + ec.message());
  }
  note(LogEntry::Kind::info, std::string("IMAP: TLS established (") + SSL_get_version(tls_->native_handle()) + ")");
  co_return true;
}

asio::awaitable<bool> ImapClient::open() {
  if (!co_await connect()) co_return false;
  if (config_.tls == config::ReceiveConfig::ImapTls::implicit && !co_await handshake()) co_return false;
  auto greeting = co_await read_response();
  if (!greeting) co_return false;
  if (greeting->status != "OK" && greeting->status != "PREAUTH")
    co_return fail(FailureReason::imap_connect, "greeting: " + greeting->status + " " + greeting->text);
  if (auto caps = imap::capabilities(*greeting)) capabilities_ = *caps;
  std::vector<imap::Response> untagged;
  if (config_.tls == config::ReceiveConfig::ImapTls::starttls) {
    std::string starttls = "STARTTLS";
    auto reply = co_await command(starttls, untagged);
    if (!reply) co_return false;
    if (reply->status != "OK") co_return fail(FailureReason::imap_connect, "STARTTLS refused: " + reply->text);
    if (!buffer_.empty()) co_return fail(FailureReason::imap_error, "data after the reply to STARTTLS (injection)");
    if (!co_await handshake()) co_return false;
    capabilities_.clear();  // RFC 3501 §6.2.1: forget what was said in plain text
  }
  if (greeting->status != "PREAUTH") {
    auto user = imap::quote(config_.username);
    auto password = imap::quote(config_.password);
    if (!user || !password) co_return fail(FailureReason::imap_auth, "username or password not sendable in LOGIN");
    std::string login = "LOGIN " + *user + " " + *password;
    std::string shown = "LOGIN " + *user + " <password>";
    untagged.clear();  // nothing said before TLS counts
    auto reply = co_await command(login, untagged, shown);
    if (!reply) co_return false;
    if (reply->status != "OK") co_return fail(FailureReason::imap_auth, "LOGIN refused: " + reply->status + " " + reply->text);
    untagged.push_back(*reply);  // its OK [CAPABILITY ...] code, when it has one
  }
  logged_in_ = true;
  // Capabilities change at login (UIDPLUS, SPECIAL-USE appear only then).
  std::vector<std::string> after;
  for (const auto& r : untagged)
    if (auto caps = imap::capabilities(r)) after = *caps;
  if (after.empty()) {
    untagged.clear();
    std::string capability = "CAPABILITY";
    auto reply = co_await command(capability, untagged);
    if (!reply) co_return false;
    for (const auto& r : untagged)
      if (auto caps = imap::capabilities(r)) after = *caps;
  }
  capabilities_ = std::move(after);
  co_return true;
}

asio::awaitable<bool> ImapClient::write(const std::string& bytes) {
  error_code ec;
  if (tls_)
    co_await asio::async_write(*tls_, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
  else
    co_await asio::async_write(io_->socket, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(FailureReason::imap_error, "sending: " + ec.message());
  co_return true;
}

asio::awaitable<std::optional<imap::Response>> ImapClient::read_response() {
  while (true) {
    imap::Response response;
    std::size_t used = 0;
    std::string error;
    imap::Parse parsed = imap::parse_response(buffer_, used, response, error);
    if (parsed == imap::Parse::complete) {
      std::string_view raw(buffer_.data(), used);
      note(LogEntry::Kind::received, "IMAP: " + shown_response(raw.substr(0, raw.find('\r'))));
      buffer_.erase(0, used);
      if (response.status == "BYE" && response.type == imap::Response::Type::untagged) {
        fail(logged_in_ ? FailureReason::imap_error : FailureReason::imap_connect, "server said BYE: " + response.text);
        co_return std::nullopt;
      }
      co_return response;
    }
    if (parsed == imap::Parse::error) {
      fail(FailureReason::imap_error, "malformed response: " + error);
      co_return std::nullopt;
    }
    const std::size_t old = buffer_.size();
    buffer_.resize(old + kReadSize);
    auto space = asio::buffer(buffer_.data() + old, kReadSize);
    error_code ec;
    std::size_t n = 0;
    if (tls_)
      n = co_await tls_->async_read_some(space, asio::redirect_error(asio::use_awaitable, ec));
    else
      n = co_await io_->socket.async_read_some(space, asio::redirect_error(asio::use_awaitable, ec));
    buffer_.resize(old + n);
    if (ec) {
      fail(logged_in_ ? FailureReason::imap_error : FailureReason::imap_connect, "reading: " + ec.message());
      co_return std::nullopt;
    }
  }
}

asio::awaitable<std::optional<imap::Response>> ImapClient::command(const std::string& text,
                                                                   std::vector<imap::Response>& untagged,
                                                                   const std::string& shown) {
  std::string tag = "a" + std::to_string(next_tag_++);
  std::string line = tag + " " + text + "\r\n";
  note(LogEntry::Kind::sent, "IMAP: " + tag + " " + (shown.empty() ? text : shown));
  ++round_trips_;
  if (!co_await write(line)) co_return std::nullopt;
  while (true) {
    auto response = co_await read_response();
    if (!response) co_return std::nullopt;
    if (response->type == imap::Response::Type::tagged) {
      if (response->tag != tag) {
        fail(FailureReason::imap_error, "reply with tag " + response->tag + " to " + tag);
        co_return std::nullopt;
      }
      co_return response;
    }
    if (response->type == imap::Response::Type::continuation) {
      fail(FailureReason::imap_error, "unexpected continuation request");
      co_return std::nullopt;
    }
    if (untagged.size() < 10000) untagged.push_back(std::move(*response));
  }
}

asio::awaitable<bool> ImapClient::idle(std::chrono::steady_clock::time_point until) {
  std::string tag = "a" + std::to_string(next_tag_++);
  std::string line = tag + " IDLE\r\n";
  note(LogEntry::Kind::sent, "IMAP: " + tag + " IDLE");
  ++round_trips_;
  if (!co_await write(line)) co_return false;
  auto go_ahead = co_await read_response();
  if (!go_ahead) co_return false;
  if (go_ahead->type != imap::Response::Type::continuation) {
    fail(FailureReason::imap_error, "IDLE refused: " + go_ahead->status + " " + go_ahead->text);
    co_return false;
  }
  // When `until` passes, DONE is written by the timer's handler while the
  // read below is pending (TLS streams allow one read and one write at once).
  auto done = std::make_shared<std::string>("DONE\r\n");
  auto sent = std::make_shared<bool>(false);
  auto send_done = [this, done, sent] {
    if (*sent) return;
    *sent = true;
    note(LogEntry::Kind::sent, "IMAP: DONE");
    auto on_written = [done](const error_code&, std::size_t) {};
    if (tls_)
      asio::async_write(*tls_, asio::buffer(*done), on_written);
    else
      asio::async_write(io_->socket, asio::buffer(*done), on_written);
  };
  io_->idle_timer.expires_at(until);
  io_->idle_timer.async_wait([weak = std::weak_ptr<Io>(io_), send_done](const error_code& ec) {
    if (!ec && weak.lock()) send_done();
  });
  bool arrived = false;
  while (true) {
    auto response = co_await read_response();
    if (!response) {
      *sent = true;  // a timer handler already queued must not write DONE now
      io_->idle_timer.cancel();
      co_return false;
    }
    if (response->type == imap::Response::Type::tagged) break;
    if (response->type == imap::Response::Type::untagged && response->items.size() == 2 &&
        response->items[1].kind == imap::Item::Kind::atom) {
      std::string what = upper(response->items[1].text);
      if (what == "EXISTS" || what == "RECENT") {
        arrived = true;
        io_->idle_timer.cancel();
        send_done();
      }
    }
  }
  // The server ended IDLE (after our DONE, or on its own): a timer handler
  // already queued must not write a stray DONE into the next command.
  *sent = true;
  io_->idle_timer.cancel();
  if (arrived) note(LogEntry::Kind::info, "IMAP: new mail announced");
  co_return true;
}

asio::awaitable<void> ImapClient::close() {
  if (!io_->socket.is_open() || io_->expired) co_return;
  std::vector<imap::Response> untagged;
  std::string logout = "LOGOUT";
  // BYE comes first: read_response records it as a failure, so LOGOUT reads the raw reply itself.
  std::string tag = "a" + std::to_string(next_tag_++);
  std::string line = tag + " " + logout + "\r\n";
  note(LogEntry::Kind::sent, "IMAP: " + tag + " LOGOUT");
  ++round_trips_;
  error_code ec;
  if (tls_) {
    co_await asio::async_write(*tls_, asio::buffer(line), asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await asio::async_write(io_->socket, asio::buffer(line), asio::redirect_error(asio::use_awaitable, ec));
  }
  io_->socket.close(ec);
}

}  // namespace smtp_exporter::probes
