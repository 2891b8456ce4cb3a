// The only translation unit that includes Beast (it is slow to compile).
#include "smtp_exporter/http_server.h"

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "core/open_files.h"
#include "http/web_config.h"
#include "smtp_exporter/app.h"
#include "smtp_exporter/log.h"
#include "smtp_exporter/version.h"

namespace smtp_exporter::exporter {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

constexpr auto kIdleTimeout = std::chrono::seconds(60);  // keep-alive and slow clients
constexpr auto kWriteTimeout = std::chrono::seconds(30);

HttpRequest to_request(const http::request<http::string_body>& req, const std::string& remote_address) {
  HttpRequest out;
  out.remote_address = remote_address;
  out.method = std::string(req.method_string());
  std::string_view target = req.target();
  auto q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) out.query = std::string(target.substr(q + 1));
  for (const auto& field : req) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace(std::move(name), std::string(field.value()));
  }
  return out;
}

// What every connection of a server shares: the TLS context (null: plain
// HTTP) and the extra response headers. Sessions hold it by shared_ptr, so it
// outlives the server object if a session does.
struct Security {
  std::shared_ptr<asio::ssl::context> tls;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The Security in force; a reload of --web.config.file replaces it, and
// connections accepted from then on use the new one.
class CurrentSecurity {
 public:
  explicit CurrentSecurity(std::shared_ptr<const Security> s) : security_(std::move(s)) {}
  std::shared_ptr<const Security> get() const {
    std::lock_guard lock(mutex_);
    return security_;
  }
  void set(std::shared_ptr<const Security> s) {
    std::lock_guard lock(mutex_);
    security_ = std::move(s);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Security> security_;
};

// Every open connection, oldest first, for [limits] max_connections: at the
// limit a new connection closes the oldest one that is idle (waiting for a
// request, keep-alive or slow client), or is refused when none is.
class Connections {
 public:
  // What the table knows of one session. `socket` is valid while `ended` is
  // false; both are touched only on the session's strand (`executor`).
  struct Handle {
    asio::any_io_executor executor;
    tcp::socket* socket = nullptr;
    bool ended = false;
  };

  // The new connection's id, or nullopt when it must be refused. `limit`
  // comes from the configuration in force (it changes on reload).
  std::optional<std::uint64_t> admit(std::shared_ptr<Handle> handle, std::size_t limit) {
    std::lock_guard lock(mutex_);
    while (open_.size() >= limit) {
      auto idle = std::find_if(open_.begin(), open_.end(), [](const auto& e) { return e.second.idle; });
      if (idle == open_.end()) {
        note_refusal(true);
        return std::nullopt;
      }
      // Closed on its own strand, where the session reads: its read ends
      // with operation_aborted and the session returns.
      std::shared_ptr<Handle> victim = idle->second.handle;
      asio::post(victim->executor, [victim] {
        error_code ignored;
        if (!victim->ended && victim->socket) victim->socket->close(ignored);
      });
      open_.erase(idle);
      note_refusal(false);
    }
    std::uint64_t id = next_id_++;
    open_.emplace(id, Entry{std::move(handle), true});
    return id;
  }
  void set_idle(std::uint64_t id, bool idle) {
    std::lock_guard lock(mutex_);
    if (auto it = open_.find(id); it != open_.end()) it->second.idle = idle;
  }
  void remove(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    open_.erase(id);
  }

 private:
  struct Entry {
    std::shared_ptr<Handle> handle;
    bool idle;
  };
  // One log line a minute at most, with what happened since the last one.
  void note_refusal(bool refused) {
    (refused ? refused_ : closed_idle_) += 1;
    auto now = std::chrono::steady_clock::now();
    if (now - last_log_ < std::chrono::minutes(1) && logged_once_) return;
    log::warn("connection limit reached ([limits] max_connections)",
              {{"open", std::to_string(open_.size())},
               {"idle_closed", std::to_string(closed_idle_)},
               {"refused", std::to_string(refused_)}});
    last_log_ = now;
    logged_once_ = true;
    refused_ = closed_idle_ = 0;
  }

  std::mutex mutex_;
  std::map<std::uint64_t, Entry> open_;  // by id: oldest first
  std::uint64_t next_id_ = 0;
  std::uint64_t refused_ = 0, closed_idle_ = 0;
  std::chrono::steady_clock::time_point last_log_{};
  bool logged_once_ = false;
};

// A session's place in the table, given back however the session ends.
class ConnectionSlot {
 public:
  ConnectionSlot(std::shared_ptr<Connections> table, std::uint64_t id, std::shared_ptr<Connections::Handle> handle)
      : table_(std::move(table)), id_(id), handle_(std::move(handle)) {}
  ~ConnectionSlot() {
    handle_->ended = true;  // on the session's strand, before its socket goes
    table_->remove(id_);
  }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  void idle(bool idle) { table_->set_idle(id_, idle); }

 private:
  std::shared_ptr<Connections> table_;
  std::uint64_t id_;
  std::shared_ptr<Connections::Handle> handle_;
};

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr int kListenBacklog = 65535;

// Coroutine parameters are references, and co_await'ed calls take only named
// variables: GCC 12 destroys temporaries in a co_await expression twice
// (GCC PR 100611). `Stream` is beast::tcp_stream (HTTP) or
// beast::ssl_stream<beast::tcp_stream> (HTTPS): the session code is the same.
template <class Stream>
asio::awaitable<void> write_response(Stream& stream, const Security& security, unsigned version, bool keep_alive,
                                     bool head, HttpResponse& response, error_code& ec) {
  http::response<http::string_body> res{static_cast<http::status>(response.status), version};
  res.set(http::field::server, "smtp_exporter/" + std::string(kVersion));
  res.set(http::field::content_type, response.content_type);
  // App answers 401 only for basic authentication (AppOptions::basic_auth).
  if (response.status == 401) res.set(http::field::www_authenticate, "Basic realm=\"smtp_exporter\"");
  if (!response.content_encoding.empty()) res.set(http::field::content_encoding, response.content_encoding);
  if (response.vary_accept_encoding) res.set(http::field::vary, "Accept-Encoding");
  for (const auto& [name, value] : security.headers) res.set(name, value);
  res.keep_alive(keep_alive);
  std::size_t length = response.body.size();
  if (!head) res.body() = std::move(response.body);
  res.content_length(length);
  beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
  co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
}

// Requests and responses on one connection until either side is done.
template <class Stream>
asio::awaitable<void> serve(Stream& stream, App& app, const Security& security, ConnectionSlot& slot) {
  beast::flat_buffer buffer;
  error_code ec;
  const std::string remote_address =
      beast::get_lowest_layer(stream).socket().remote_endpoint(ec).address().to_string();
  while (true) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(64 * 1024);
    beast::get_lowest_layer(stream).expires_after(kIdleTimeout);
    slot.idle(true);  // waiting for a request: may be closed for a new connection
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    slot.idle(false);
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted || ec == asio::ssl::error::stream_truncated)
      break;
    if (ec) {  // malformed HTTP: answer once, then hang up
      HttpResponse bad{400, "text/plain; charset=utf-8", "bad request: " + ec.message() + "\n"};
      co_await write_response(stream, security, 11, false, false, bad, ec);
      break;
    }
    auto& req = parser.get();
    beast::get_lowest_layer(stream).expires_never();  // a probe bounds itself by its own deadline
    HttpRequest request = to_request(req, remote_address);
    HttpResponse response = co_await app.handle(request);
    co_await write_response(stream, security, req.version(), req.keep_alive(), req.method() == http::verb::head,
                            response, ec);
    if (ec || !req.keep_alive()) break;
  }
}

asio::awaitable<void> plain_session(beast::tcp_stream stream, App& app, std::shared_ptr<const Security> security,
                                    std::shared_ptr<Connections> table, std::uint64_t id,
                                    std::shared_ptr<Connections::Handle> handle) {
  handle->socket = &stream.socket();
  ConnectionSlot slot(std::move(table), id, handle);
  co_await serve(stream, app, *security, slot);
  error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> tls_session(beast::tcp_stream tcp, App& app, std::shared_ptr<const Security> security,
                                  std::shared_ptr<Connections> table, std::uint64_t id,
                                  std::shared_ptr<Connections::Handle> handle) {
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), *security->tls);
  handle->socket = &beast::get_lowest_layer(stream).socket();
  ConnectionSlot slot(std::move(table), id, handle);
  error_code ec;
  beast::get_lowest_layer(stream).expires_after(kHandshakeTimeout);
  co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {  // plain HTTP, no or a bad client certificate, a port scanner: not worth more than debug
    error_code ignored;
    auto peer = beast::get_lowest_layer(stream).socket().remote_endpoint(ignored);
    log::debug("TLS handshake failed", {{"peer", peer.address().to_string()}, {"err", ec.message()}});
    co_return;
  }
  co_await serve(stream, app, *security, slot);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));  // close_notify, bounded
}

void log_session_error(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error("HTTP session failed", {{"err", ex.what()}});
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, App& app, std::shared_ptr<const CurrentSecurity> current,
                                  std::shared_ptr<Connections> table) {
  asio::steady_timer backoff(acceptor.get_executor());
  auto last_accept_error = std::chrono::steady_clock::now() - std::chrono::minutes(1);
  while (acceptor.is_open()) {
    error_code ec;
    // Each connection gets its own strand: with several threads, a session
    // and its probe's timers never run concurrently.
    asio::any_io_executor strand = asio::make_strand(acceptor.get_executor());
    tcp::socket socket = co_await acceptor.async_accept(strand, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
    if (ec) {  // e.g. out of file descriptors: retry shortly instead of spinning, log once a minute
      if (auto now = std::chrono::steady_clock::now(); now - last_accept_error >= std::chrono::minutes(1)) {
        log::warn("accept failed", {{"err", ec.message()}});
        last_accept_error = now;
      }
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    auto executor = socket.get_executor();
    auto handle = std::make_shared<Connections::Handle>();
    handle->executor = executor;
    auto id = table->admit(handle, max_connections(app.config()->limits));
    if (!id) {  // every connection is busy: this one is closed at once
      socket.close(ec);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::shared_ptr<const Security> security = current->get();
    if (security->tls) {
      asio::co_spawn(executor, tls_session(beast::tcp_stream(std::move(socket)), app, security, table, *id, handle),
                     log_session_error);
    } else {
      asio::co_spawn(executor, plain_session(beast::tcp_stream(std::move(socket)), app, security, table, *id, handle),
                     log_session_error);
    }
  }
}

// ":9587" → all addresses; "[::1]:9587"; "127.0.0.1:9587"; "localhost:9587".
std::pair<std::string, std::string> split_address(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("listen address \"" + address + "\" has no :PORT");
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port = address.substr(colon + 1);
  bool digits = !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoul(port) > 65535)
    throw std::runtime_error("listen address \"" + address + "\": port must be a number from 0 to 65535");
  return {host, port};
}

}  // namespace

struct HttpServer::Impl {
  asio::io_context& io;
  App& app;
  std::shared_ptr<CurrentSecurity> security;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::shared_ptr<Connections> connections = std::make_shared<Connections>();

  void open(const tcp::endpoint& endpoint, bool dual_stack) {
    auto acceptor = std::make_unique<tcp::acceptor>(io);
    acceptor->open(endpoint.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    if (endpoint.address().is_v6()) acceptor->set_option(asio::ip::v6_only(!dual_stack));
    acceptor->bind(endpoint);
    // As deep as the kernel allows (it caps the backlog at net.core.somaxconn):
    // Asio's max_listen_connections is SOMAXCONN, 4096, and a burst of scrapes
    // beyond the queue loses SYNs that are only sent again a second later.
    acceptor->listen(kListenBacklog);
    start(std::move(acceptor), "bind");
  }

  // `from`: "bind" (a --web.listen-address) or "systemd" (--web.systemd-socket).
  void start(std::unique_ptr<tcp::acceptor> acceptor, const char* from) {
    log::info("listening", {{"address", acceptor->local_endpoint().address().to_string()},
                            {"port", std::to_string(acceptor->local_endpoint().port())},
                            {"tls", security->get()->tls ? "true" : "false"},
                            {"from", from}});
    asio::co_spawn(io, accept_loop(*acceptor, app, security, connections), asio::detached);
    acceptors.push_back(std::move(acceptor));
  }
};

namespace {
std::shared_ptr<const Security> make_security(const WebConfig* web) {
  auto security = std::make_shared<Security>();
  if (!web) return security;
  if (web->tls) security->tls = make_server_tls_context(*web->tls);
  security->headers = web->headers;
  return security;
}
}  // namespace

HttpServer::HttpServer(asio::io_context& io, App& app, std::shared_ptr<const WebConfig> web)
    : impl_(new Impl{io, app, std::make_shared<CurrentSecurity>(make_security(web.get())), {},
                     std::make_shared<Connections>()}) {}

std::function<void()> HttpServer::prepare_web_config(const std::shared_ptr<const WebConfig>& web) {
  std::shared_ptr<const Security> built = make_security(web.get());  // throws, changing nothing
  return [current = impl_->security, built] { current->set(built); };
}
HttpServer::~HttpServer() = default;

void HttpServer::listen(const std::string& address) {
  auto [host, port] = split_address(address);
  try {
    if (host.empty()) {
      unsigned short number = static_cast<unsigned short>(std::stoul(port));
      try {  // one IPv6 socket that also accepts IPv4 (v6only off)
        impl_->open(tcp::endpoint(asio::ip::address_v6::any(), number), true);
      } catch (const boost::system::system_error&) {  // no IPv6 on this host
        impl_->open(tcp::endpoint(asio::ip::address_v4::any(), number), false);
      }
      return;
    }
    // A name or literal, resolved once at startup (before the event loop runs).
    tcp::resolver resolver(impl_->io);
    auto results = resolver.resolve(host, port, tcp::resolver::passive | tcp::resolver::numeric_service);
    for (const auto& entry : results) impl_->open(entry.endpoint(), false);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot listen on \"" + address + "\": " + e.what());
  }
}

void HttpServer::adopt(int fd) {
  auto fail = [fd](const std::string& why) {
    return std::runtime_error("descriptor " + std::to_string(fd) + ": " + why);
  };
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) throw fail(std::strerror(errno));
  if (address.ss_family != AF_INET && address.ss_family != AF_INET6)
    throw fail("not an IPv4 or IPv6 socket (ListenStream= must be a port or an address with a port)");
  int type = 0, listening = 0;
  socklen_t size = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0 || type != SOCK_STREAM)
    throw fail("not a stream (TCP) socket");
  size = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || !listening)
    throw fail("not a listening socket");
  auto acceptor = std::make_unique<tcp::acceptor>(impl_->io);
  acceptor->assign(address.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd);
  impl_->start(std::move(acceptor), "systemd");
}

std::vector<std::uint16_t> HttpServer::ports() const {
  std::vector<std::uint16_t> out;
  for (const auto& a : impl_->acceptors) out.push_back(a->local_endpoint().port());
  return out;
}

void HttpServer::stop() {
  for (auto& a : impl_->acceptors) {
    error_code ignored;
    a->close(ignored);
  }
}

}  // namespace smtp_exporter::exporter
