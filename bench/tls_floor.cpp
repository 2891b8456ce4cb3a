// tls_floor: the STARTTLS reference client of bench/compare.py, a floor for the exporter's CPU
// per STARTTLS probe. It does the conversation of the bench_starttls module and nothing else,
// sequentially, with blocking sockets and the same OpenSSL (3.0) as the exporter:
//
//   connect, 220 greeting, EHLO, 250 (STARTTLS offered), STARTTLS, 220,
//   TLS handshake with SNI, the certificate verified against --ca-file and its host name checked
//   (SSL_VERIFY_PEER + SSL_set1_host), EHLO again, 250, QUIT, 221, close.
//
// One SSL_CTX for the whole run, its CA file loaded once; a new SSL (a full handshake, no
// session resumption) per conversation; no certificate inspection, no metrics, no event loop.
//
//   tls_floor --target HOST:PORT --ca-file PEM --server-name NAME [--ehlo NAME]
//             (--duration SECONDS | --conversations N)
//
// Prints one JSON object: conversations (successful), failed, the first error, the wall time,
// and the process' CPU (getrusage RUSAGE_SELF, user + system, start-up included) in total and
// per successful conversation, plus the start-up part (until the SSL_CTX was ready) alone.
// Exit 0 when every conversation succeeded, 1 when one failed, 2 on a usage or setup error.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "json_string.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string ca_file;
  std::string server_name;
  std::string ehlo = "bench.local";
  double duration = 0;     // seconds; 0: use --conversations
  long conversations = 0;  // 0: use --duration
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

std::string openssl_error(std::string_view what) {
  std::string out(what);
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  return out;
}

// One conversation's transport: the socket, then TLS over it once started.
class Connection {
 public:
  ~Connection() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) close(fd_);
  }

  bool connect_to(const sockaddr_in& address, std::string& error) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return fail(error, std::string("socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
      return fail(error, std::string("connect: ") + std::strerror(errno));
    return true;
  }

  bool start_tls(SSL_CTX* ctx, const std::string& server_name, std::string& error) {
    buffer_.clear();  // nothing may follow the 220 before the handshake
    ssl_ = SSL_new(ctx);
    if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) return fail(error, openssl_error("SSL_new"));
    SSL_set_tlsext_host_name(ssl_, server_name.c_str());  // SNI
    SSL_set1_host(ssl_, server_name.c_str());             // the certificate must name it
    if (SSL_connect(ssl_) != 1) {
      const long verify = SSL_get_verify_result(ssl_);
      return fail(error, openssl_error("TLS handshake") +
                             (verify != X509_V_OK ? std::string(" (") + X509_verify_cert_error_string(verify) + ")" : ""));
    }
    return true;
  }

  bool send(std::string_view line, std::string& error) {
    while (!line.empty()) {
      const long n = ssl_ ? SSL_write(ssl_, line.data(), static_cast<int>(line.size()))
                          : ::send(fd_, line.data(), line.size(), MSG_NOSIGNAL);
      if (n <= 0) return fail(error, ssl_ ? openssl_error("SSL_write") : std::string("send: ") + std::strerror(errno));
      line.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads one SMTP reply (every line up to the one with a space after the code); true when its
  // code is `code`. `reply` gets the whole reply.
  bool expect(std::string_view code, std::string& reply, std::string& error) {
    for (;;) {
      std::size_t start = 0;
      for (std::size_t end; (end = buffer_.find("\r\n", start)) != std::string::npos; start = end + 2) {
        const std::string_view line(buffer_.data() + start, end - start);
        if (line.size() < 3 || line.substr(0, 3) != code) {
          return fail(error, "expected " + std::string(code) + ", got \"" + std::string(line) + "\"");
        }
        if (line.size() == 3 || line[3] == ' ') {
          reply.assign(buffer_, 0, end + 2);
          buffer_.erase(0, end + 2);
          return true;
        }
      }
      char chunk[4096];
      const long n = ssl_ ? SSL_read(ssl_, chunk, sizeof chunk) : ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        return fail(error, n == 0 && !ssl_ ? std::string("connection closed")
                                           : ssl_ ? openssl_error("SSL_read") : std::string("recv: ") + std::strerror(errno));
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  static bool fail(std::string& error, std::string message) {
    error = std::move(message);
    return false;
  }

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

bool converse(const Options& o, const sockaddr_in& address, SSL_CTX* ctx, const std::string& ehlo, std::string& error) {
  Connection c;
  std::string reply;
  if (!c.connect_to(address, error) || !c.expect("220", reply, error)) return false;
  if (!c.send(ehlo, error) || !c.expect("250", reply, error)) return false;
  if (reply.find("STARTTLS") == std::string::npos) {
    error = "STARTTLS not offered";
    return false;
  }
  if (!c.send("STARTTLS\r\n", error) || !c.expect("220", reply, error)) return false;
  if (!c.start_tls(ctx, o.server_name, error)) return false;
  if (!c.send(ehlo, error) || !c.expect("250", reply, error)) return false;
  return c.send("QUIT\r\n", error) && c.expect("221", reply, error);
}

int usage() {
  std::fprintf(stderr,
               "usage: tls_floor --target HOST:PORT --ca-file PEM --server-name NAME [--ehlo NAME]\n"
               "                 (--duration SECONDS | --conversations N)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string target;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view arg = argv[i];
    const char* value = argv[i + 1];
    if (arg == "--target") target = value;
    else if (arg == "--ca-file") o.ca_file = value;
    else if (arg == "--server-name") o.server_name = value;
    else if (arg == "--ehlo") o.ehlo = value;
    else if (arg == "--duration") o.duration = std::atof(value);
    else if (arg == "--conversations") o.conversations = std::atol(value);
    else return usage();
  }
  if (argc % 2 == 0) return usage();
  const std::size_t colon = target.rfind(':');
  if (colon == std::string::npos || o.ca_file.empty() || o.server_name.empty() ||
      (o.duration <= 0) == (o.conversations <= 0))
    return usage();
  o.host = target.substr(0, colon);
  o.port = std::atoi(target.c_str() + colon + 1);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &address.sin_addr) != 1 || o.port <= 0 || o.port > 65535) return usage();

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx || SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1) {
    std::fprintf(stderr, "tls_floor: %s\n", openssl_error("CA file " + o.ca_file).c_str());
    return 2;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);  // the handshake fails unless the chain and name verify
  const std::string ehlo = "EHLO " + o.ehlo + "\r\n";
  const double startup_cpu = cpu_seconds();

  long ok = 0, failed = 0;
  std::string first_error;
  const auto started = Clock::now();
  const auto until = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration));
  for (long n = 0; o.conversations > 0 ? n < o.conversations : Clock::now() < until; ++n) {
    std::string error;
    if (converse(o, address, ctx, ehlo, error)) {
      ++ok;
    } else {
      ++failed;
      if (first_error.empty()) first_error = error;
      ERR_clear_error();
    }
  }
  const double wall = std::chrono::duration<double>(Clock::now() - started).count();
  SSL_CTX_free(ctx);
  const double cpu = cpu_seconds();
  std::printf("{\"openssl\": %s, \"conversations\": %ld, \"failed\": %ld, \"first_error\": %s, \"wall_s\": %.3f, \"rate\": %.1f, "
              "\"cpu_s\": %.4f, \"startup_cpu_s\": %.4f, \"cpu_ms_per_conversation\": %.4f}\n",
              json_string(OpenSSL_version(OPENSSL_VERSION)).c_str(), ok, failed, json_string(first_error).c_str(), wall, static_cast<double>(ok) / std::max(wall, 1e-9), cpu,
              startup_cpu, cpu * 1000 / static_cast<double>(std::max(ok, 1L)));
  return failed ? 1 : 0;
}
