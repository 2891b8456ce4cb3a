// HTTP/1.1 server (Boost.Beast) in front of App: one coroutine per
// connection on a strand of the shared io_context; keep-alive; bounded headers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace smtp_exporter::exporter {

class App;
struct WebConfig;  // web_config.h

class HttpServer {
 public:
  // With a `web` configuration that has tls_server_config, every listener
  // speaks HTTPS (its TLS context is built here: throws std::runtime_error
  // with the reason); its http_server_config.headers go on every response.
  // Basic authentication is App's (AppOptions::basic_auth).
  HttpServer(boost::asio::io_context& io, App& app, std::shared_ptr<const WebConfig> web = nullptr);
  ~HttpServer();

  // A reloaded --web.config.file: builds its TLS context (HTTPS or not),
  // throwing std::runtime_error when that fails, and returns what puts it
  // and its headers in force for the connections accepted from then on.
  std::function<void()> prepare_web_config(const std::shared_ptr<const WebConfig>& web);

  // Binds and starts accepting on ":PORT" (every address, IPv6 and IPv4),
  // "HOST:PORT" or "[IPV6]:PORT". Throws std::runtime_error with the reason.
  void listen(const std::string& address);
  // Starts accepting on `fd`, a listening TCP socket made by someone else
  // (systemd socket activation: http/systemd_socket.h); the server owns it from
  // then on. Throws std::runtime_error when it is not one.
  void adopt(int fd);
  // The ports actually bound (useful with port 0).
  std::vector<std::uint16_t> ports() const;
  // Closes the listeners; connections in progress end on their own.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smtp_exporter::exporter
