#include "fake_dns_server.h"

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace smtp_exporter::testing {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

using Message = std::vector<unsigned char>;

// The REFUSED reply to a query: its ID, opcode and RD, QR set, RCODE 5, and
// its question only (a query's name is not compressed: labels up to the
// root, then type and class). Empty when the query has no whole question.
Message refused(const Message& query) {
  std::size_t end = 12;
  while (end < query.size() && query[end] != 0) end += query[end] + 1u;
  end += 5;  // the root label, QTYPE, QCLASS
  if (query.size() < 12 || end > query.size()) return {};
  Message reply(query.begin(), query.begin() + static_cast<std::ptrdiff_t>(end));
  reply[2] = static_cast<unsigned char>(0x80 | (query[2] & 0x79));  // QR, opcode, RD
  reply[3] = 5;                                                   // REFUSED
  reply[4] = 0, reply[5] = 1;                                     // QDCOUNT 1
  for (int i = 6; i < 12; ++i) reply[i] = 0;                      // no answer, authority, additional
  return reply;
}

}  // namespace

struct FakeDnsServer::Impl {
  Mode mode;
  asio::io_context io;
  udp::socket udp_socket{io};
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::atomic<int> queries{0};

  explicit Impl(Mode m) : mode(m) {
    // The same port for both: take a free UDP port, then its TCP twin
    // (another process may hold that one: try again).
    for (int attempt = 0; attempt < 20; ++attempt) {
      udp_socket = udp::socket(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
      boost::system::error_code ec;
      acceptor = tcp::acceptor(io);
      acceptor.open(tcp::v4());
      acceptor.set_option(tcp::acceptor::reuse_address(true));
      acceptor.bind(tcp::endpoint(udp_socket.local_endpoint().address(), udp_socket.local_endpoint().port()), ec);
      if (!ec) {
        acceptor.listen();
        return;
      }
    }
    throw std::runtime_error("FakeDnsServer: no port free for both UDP and TCP");
  }

  asio::awaitable<void> udp_loop() {
    Message buffer(4096);
    udp::endpoint peer;
    while (true) {
      boost::system::error_code ec;
      auto buf = asio::buffer(buffer);
      std::size_t n = co_await udp_socket.async_receive_from(buf, peer, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      ++queries;
      if (mode == Mode::silent) continue;
      Message reply = refused(Message(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n)));
      if (reply.empty()) continue;
      auto out = asio::buffer(reply);
      co_await udp_socket.async_send_to(out, peer, asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  // One TCP connection: length-prefixed messages (RFC 1035 §4.2.2).
  asio::awaitable<void> tcp_connection(tcp::socket socket) {
    while (true) {
      boost::system::error_code ec;
      unsigned char length[2];
      auto head = asio::buffer(length);
      co_await asio::async_read(socket, head, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      Message query(static_cast<std::size_t>(length[0] << 8 | length[1]));
      auto body = asio::buffer(query);
      co_await asio::async_read(socket, body, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      ++queries;
      if (mode == Mode::silent) continue;  // keeps reading: the connection stays open, unanswered
      Message reply = refused(query);
      if (reply.empty()) co_return;
      reply.insert(reply.begin(), {static_cast<unsigned char>(reply.size() >> 8),
                                   static_cast<unsigned char>(reply.size() & 0xff)});
      auto out = asio::buffer(reply);
      co_await asio::async_write(socket, out, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
    }
  }

  asio::awaitable<void> accept_loop() {
    while (true) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      asio::co_spawn(io, tcp_connection(std::move(socket)), asio::detached);
    }
  }
};

FakeDnsServer::FakeDnsServer(Mode mode) : impl_(std::make_unique<Impl>(mode)) {
  asio::co_spawn(impl_->io, impl_->udp_loop(), asio::detached);
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

FakeDnsServer::~FakeDnsServer() {
  impl_->io.stop();
  impl_->thread.join();
}

std::uint16_t FakeDnsServer::port() const { return impl_->udp_socket.local_endpoint().port(); }

std::string FakeDnsServer::server() const { return "127.0.0.1:" + std::to_string(port()); }

int FakeDnsServer::queries() const { return impl_->queries; }

}  // namespace smtp_exporter::testing
