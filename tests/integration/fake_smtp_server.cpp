#include "fake_smtp_server.h"

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <optional>
#include <stdexcept>
#include <algorithm>
#include <thread>

namespace smtp_exporter::testing {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;

Script polite_server(std::string greeting, std::string ehlo) {
  return {send(std::move(greeting)), expect("EHLO"), send(std::move(ehlo)), expect("QUIT"),
          send("221 2.0.0 Bye\r\n"), hang_up()};
}

Script accepting_server() {
  return {send("220 fake.test ESMTP\r\n"), expect("EHLO"), send("250 fake.test\r\n"), expect("MAIL FROM"),
          send("250 2.1.0 Ok\r\n"),        expect("RCPT TO"), send("250 2.1.5 Ok\r\n"), expect("DATA"),
          send("354 go ahead\r\n"),        read_message(),   send("250 2.0.0 queued\r\n"), expect("QUIT"),
          send("221 bye\r\n"),             hang_up()};
}

Script starttls_server(TlsIdentity identity, std::string ehlo_before, std::string ehlo_after) {
  return {send("220 fake.test ESMTP\r\n"),
          expect("EHLO"),
          send(std::move(ehlo_before)),
          expect("STARTTLS"),
          send("220 2.0.0 Ready to start TLS\r\n"),
          start_tls(std::move(identity)),
          expect("EHLO"),
          send(std::move(ehlo_after)),
          expect("QUIT"),
          send("221 2.0.0 Bye\r\n"),
          hang_up()};
}

Script implicit_tls_server(TlsIdentity identity) {
  Script script = polite_server();
  script.insert(script.begin(), start_tls(std::move(identity)));
  return script;
}

namespace {

std::unique_ptr<ssl::context> make_server_context(const TlsIdentity& identity) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1)
    throw std::runtime_error("FakeSmtpServer: cannot require TLS 1.2");
  context->set_options(ssl::context::default_workarounds | ssl::context::single_dh_use);
  context->use_certificate_chain_file(identity.chain_file);  // these throw system_error
  context->use_private_key_file(identity.key_file, ssl::context::pem);
  return context;
}

}  // namespace

struct FakeSmtpServer::Impl {
  // Connection N plays scripts[min(N, last)]; contexts[s][i] for start_tls steps.
  std::vector<Script> scripts;
  std::vector<std::vector<std::unique_ptr<ssl::context>>> contexts;
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::thread thread;
  mutable std::mutex mutex;
  std::vector<std::string> lines;
  std::atomic<int> connections{0};
  int open = 0;
  std::atomic<int> max_open{0};
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::chrono::steady_clock::time_point>> times;
  std::atomic<int> tls_handshakes{0};

  // One line (CR LF stripped), recorded in `lines`; nullopt when the
  // connection ends first.
  asio::awaitable<std::optional<std::string>> read_line(tcp::socket& socket,
                                                        std::optional<ssl::stream<tcp::socket&>>& tls,
                                                        asio::streambuf& input) {
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tls)
      n = co_await asio::async_read_until(*tls, input, "\n", asio::redirect_error(asio::use_awaitable, ec));
    else
      n = co_await asio::async_read_until(socket, input, "\n", asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return std::nullopt;
    std::string line(asio::buffers_begin(input.data()), asio::buffers_begin(input.data()) + n);
    input.consume(n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    {
      std::lock_guard lock(mutex);
      lines.push_back(line);
    }
    co_return line;
  }

  // The connection's transport: the plain socket until a start_tls step,
  // then a TLS stream over it.
  asio::awaitable<void> serve(tcp::socket socket, std::size_t which) {
    const Script& script = scripts[which];
    boost::system::error_code ec;
    asio::streambuf input;
    std::optional<ssl::stream<tcp::socket&>> tls;
    for (std::size_t index = 0; index < script.size(); ++index) {
      const Step& step = script[index];
      switch (step.kind) {
        case Step::Kind::send:
          if (tls)
            co_await asio::async_write(*tls, asio::buffer(step.text), asio::redirect_error(asio::use_awaitable, ec));
          else
            co_await asio::async_write(socket, asio::buffer(step.text), asio::redirect_error(asio::use_awaitable, ec));
          break;
        case Step::Kind::delay: {
          asio::steady_timer timer(io, step.wait);
          co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          break;
        }
        case Step::Kind::expect: {
          std::optional<std::string> line = co_await read_line(socket, tls, input);
          if (!line) co_return;
          if (line->rfind(step.text, 0) != 0) co_return;  // unexpected command: hang up
          break;
        }
        case Step::Kind::read_message:
          while (true) {
            std::optional<std::string> line = co_await read_line(socket, tls, input);
            if (!line) co_return;
            if (*line == ".") break;
          }
          break;
        case Step::Kind::send_repeated: {
          // Whole repetitions of up to 64 KiB per write.
          const std::size_t per_write = std::max<std::size_t>(1, 65536 / std::max<std::size_t>(1, step.text.size()));
          std::string chunk;
          chunk.reserve(per_write * step.text.size());
          for (std::size_t i = 0; i < std::min(per_write, step.count); ++i) chunk += step.text;
          for (std::size_t left = step.count; left > 0 && !ec;) {
            const std::size_t n = std::min(left, per_write);
            auto bytes = asio::buffer(chunk.data(), n * step.text.size());
            if (tls)
              co_await asio::async_write(*tls, bytes, asio::redirect_error(asio::use_awaitable, ec));
            else
              co_await asio::async_write(socket, bytes, asio::redirect_error(asio::use_awaitable, ec));
            left -= n;
          }
          break;
        }
        case Step::Kind::receive: {
          if (input.size() > 0) {  // already read past the last line
            input.consume(input.size());
            break;
          }
          char sink[16384];
          if (tls)
            co_await tls->async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
          else
            co_await socket.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
          break;
        }
        case Step::Kind::reset:
          socket.set_option(tcp::socket::linger(true, 0), ec);
          socket.close(ec);
          co_return;
        case Step::Kind::tls_alert: {
          static const unsigned char alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};  // fatal, handshake_failure
          co_await asio::async_write(socket, asio::buffer(alert), asio::redirect_error(asio::use_awaitable, ec));
          break;
        }
        case Step::Kind::close:
          if (tls) co_await tls->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
          co_return;
        case Step::Kind::stall: {
          // Read and discard until the client gives up or the server stops.
          char sink[512];
          while (!ec) {
            if (tls)
              co_await tls->async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
            else
              co_await socket.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
          }
          co_return;
        }
        case Step::Kind::start_tls: {
          if (tls) co_return;  // TLS inside TLS is not supported
          input.consume(input.size());  // no plaintext injected before the handshake (CVE-2011-0411)
          // TLS 1.3 session tickets right after the handshake, then the next
          // reply: without this, Nagle holds the reply for the client's
          // delayed ACK (~40 ms).
          socket.set_option(tcp::no_delay(true), ec);
          tls.emplace(socket, *contexts[which][index]);
          co_await tls->async_handshake(ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
          if (ec) co_return;  // e.g. the client rejected the certificate: just end the connection
          ++tls_handshakes;
          break;
        }
      }
      if (ec) co_return;
    }
    if (tls) co_await tls->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  }

  asio::awaitable<void> accept_loop() {
    while (true) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      ++connections;
      // Tracks how many conversations run at once (on the server's one thread).
      max_open = std::max(max_open.load(), ++open);
      auto accepted = std::chrono::steady_clock::now();
      std::size_t which = std::min<std::size_t>(connections - 1, scripts.size() - 1);
      asio::co_spawn(io, serve(std::move(socket), which), [this, accepted](std::exception_ptr) {
        --open;
        std::lock_guard lock(mutex);
        times.emplace_back(accepted, std::chrono::steady_clock::now());
      });
    }
  }
};

FakeSmtpServer::FakeSmtpServer(Script script) : FakeSmtpServer(std::vector<Script>{std::move(script)}) {}

FakeSmtpServer::FakeSmtpServer(std::vector<Script> scripts) : impl_(std::make_unique<Impl>()) {
  impl_->scripts = std::move(scripts);
  for (const Script& script : impl_->scripts) {
    auto& contexts = impl_->contexts.emplace_back();
    for (const Step& step : script)
      contexts.push_back(step.kind == Step::Kind::start_tls ? make_server_context(step.tls) : nullptr);
  }
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

FakeSmtpServer::~FakeSmtpServer() {
  impl_->io.stop();
  impl_->thread.join();
}

std::uint16_t FakeSmtpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

std::vector<std::string> FakeSmtpServer::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->lines;
}

int FakeSmtpServer::connections() const { return impl_->connections; }

int FakeSmtpServer::max_concurrent() const { return impl_->max_open; }

std::vector<std::pair<std::chrono::steady_clock::time_point, std::chrono::steady_clock::time_point>>
FakeSmtpServer::conversations() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->times;
}

int FakeSmtpServer::tls_handshakes() const { return impl_->tls_handshakes; }

}  // namespace smtp_exporter::testing
