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
#include <boost/asio/write.hpp>
#include <thread>

namespace smtp_exporter::testing {

namespace asio = boost::asio;
using asio::ip::tcp;

Script polite_server(std::string greeting, std::string ehlo) {
  return {send(std::move(greeting)), expect("EHLO"), send(std::move(ehlo)), expect("QUIT"),
          send("221 2.0.0 Bye\r\n"), hang_up()};
}

struct FakeSmtpServer::Impl {
  Script script;
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::thread thread;
  mutable std::mutex mutex;
  std::vector<std::string> lines;
  std::atomic<int> connections{0};

  asio::awaitable<void> serve(tcp::socket socket) {
    boost::system::error_code ec;
    asio::streambuf input;
    for (const Step& step : script) {
      switch (step.kind) {
        case Step::Kind::send:
          co_await asio::async_write(socket, asio::buffer(step.text), asio::redirect_error(asio::use_awaitable, ec));
          break;
        case Step::Kind::delay: {
          asio::steady_timer timer(io, step.wait);
          co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          break;
        }
        case Step::Kind::expect: {
          std::size_t n = co_await asio::async_read_until(socket, input, "\n",
                                                          asio::redirect_error(asio::use_awaitable, ec));
          if (ec) co_return;
          std::string line(asio::buffers_begin(input.data()), asio::buffers_begin(input.data()) + n);
          input.consume(n);
          while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
          {
            std::lock_guard lock(mutex);
            lines.push_back(line);
          }
          if (line.rfind(step.text, 0) != 0) co_return;  // unexpected command: hang up
          break;
        }
        case Step::Kind::close:
          co_return;
        case Step::Kind::stall: {
          // Read and discard until the client gives up or the server stops.
          char sink[512];
          while (!ec) co_await socket.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
          co_return;
        }
      }
      if (ec) co_return;
    }
  }

  asio::awaitable<void> accept_loop() {
    while (true) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      ++connections;
      asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
  }
};

FakeSmtpServer::FakeSmtpServer(Script script) : impl_(std::make_unique<Impl>()) {
  impl_->script = std::move(script);
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

}  // namespace smtp_exporter::testing
