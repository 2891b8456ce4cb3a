// smtp_bench: the load benchmark's two halves, in one process on two threads.
//
//   responder  a fast SMTP server on 127.0.0.1 (its own thread and io_context):
//              greeting (optionally delayed), EHLO/HELO, STARTTLS (with
//              --tls-cert/--tls-key), QUIT. It times every conversation.
//   driver     HTTP/1.1 keep-alive clients (one connection each, --concurrency
//              of them) that send GET /probe?target=127.0.0.1:PORT&module=M to
//              the exporter, back to back, for --duration seconds or until
//              --requests requests were sent.
//
// It prints one JSON object: rate, HTTP latency, probe_duration_seconds taken
// from each response, the exporter's overhead (HTTP latency minus the probe's
// own duration), and the responder's conversation times. bench/run.py runs the
// scenarios and checks the targets; see docs/performance.md.
#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/completion_condition.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using error_code = boost::system::error_code;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Options {
  std::string exporter = "127.0.0.1:9587";  // HOST:PORT of the exporter
  std::string module = "smtp_banner";
  int concurrency = 1;
  double duration = 0;     // seconds; 0: use --requests
  long requests = 0;       // total requests; 0: use --duration
  std::string tls_cert, tls_key;
  int greeting_delay_ms = 0;
};

// ---- responder ------------------------------------------------------------

struct ResponderStats {
  long connections = 0;
  long tls_handshakes = 0;
  long quits = 0;  // conversations that ended with QUIT
  int active = 0;
  int max_active = 0;
  std::vector<double> conversation_ms;  // accept → 221 sent (or the end)
};

class Responder {
 public:
  Responder(const Options& options) : delay_(options.greeting_delay_ms) {
    if (!options.tls_cert.empty()) {
      tls_.emplace(ssl::context::tls_server);
      tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3);
      tls_->use_certificate_chain_file(options.tls_cert);
      tls_->use_private_key_file(options.tls_key, ssl::context::pem);
    }
    ehlo_plain_ = "250-bench.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n";
    if (tls_) ehlo_plain_ += "250-STARTTLS\r\n";
    ehlo_plain_ += "250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n";
    stats_.conversation_ms.reserve(1 << 20);
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void start() {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  // Stops the thread; the stats are read after it joined.
  const ResponderStats& stop() {
    io_.stop();
    thread_.join();
    return stats_;
  }

 private:
  enum class Outcome { quit, starttls, ended };

  asio::awaitable<void> accept_loop() {
    for (;;) {
      error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {  // e.g. EMFILE: back off a little
        asio::steady_timer pause(io_, std::chrono::milliseconds(10));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      asio::co_spawn(io_, converse(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> converse(tcp::socket socket) {
    const auto started = Clock::now();
    ++stats_.connections;
    stats_.max_active = std::max(stats_.max_active, ++stats_.active);
    error_code ec;
    if (delay_.count() > 0) {
      asio::steady_timer timer(io_, delay_);
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    std::string buffer;
    Outcome outcome = co_await session(socket, buffer, false);
    if (outcome == Outcome::starttls && tls_) {
      ssl::stream<tcp::socket&> tls(socket, *tls_);
      co_await tls.async_handshake(ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) {
        ++stats_.tls_handshakes;
        buffer.clear();  // input sent before the handshake is discarded
        outcome = co_await session(tls, buffer, true);
      }
    }
    if (outcome == Outcome::quit) ++stats_.quits;
    // The server hangs up right after 221 (as Postfix does): TIME_WAIT stays
    // on this side, not on the exporter's ephemeral ports.
    socket.close(ec);
    stats_.conversation_ms.push_back(ms_since(started));
    --stats_.active;
  }

  template <class Stream>
  asio::awaitable<Outcome> session(Stream& stream, std::string& buffer, bool in_tls) {
    error_code ec;
    if (!in_tls) {
      co_await asio::async_write(stream, asio::buffer(kGreeting), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Outcome::ended;
    }
    for (;;) {
      auto input = asio::dynamic_buffer(buffer, 4096);
      std::size_t n = co_await asio::async_read_until(stream, input, std::string_view("\r\n"),
                                                      asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Outcome::ended;
      std::string verb(buffer.data(), std::min<std::size_t>(n - 2, 8));
      buffer.erase(0, n);
      for (char& c : verb) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
      std::string_view reply = kUnknown;
      Outcome next = Outcome::ended;
      bool more = true;
      if (verb.starts_with("EHLO")) {
        reply = in_tls ? std::string_view(kEhloTls) : std::string_view(ehlo_plain_);
      } else if (verb.starts_with("HELO")) {
        reply = kHelo;
      } else if (verb.starts_with("STARTTLS") && tls_ && !in_tls) {
        reply = kStartTls;
        next = Outcome::starttls;
        more = false;
      } else if (verb.starts_with("QUIT")) {
        reply = kBye;
        next = Outcome::quit;
        more = false;
      }
      co_await asio::async_write(stream, asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Outcome::ended;
      if (!more) co_return next;
    }
  }

  static constexpr std::string_view kGreeting = "220 bench.test ESMTP smtp_bench\r\n";
  static constexpr std::string_view kEhloTls =
      "250-bench.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-AUTH PLAIN LOGIN\r\n"
      "250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n";
  static constexpr std::string_view kHelo = "250 bench.test\r\n";
  static constexpr std::string_view kStartTls = "220 2.0.0 Ready to start TLS\r\n";
  static constexpr std::string_view kBye = "221 2.0.0 Bye\r\n";
  static constexpr std::string_view kUnknown = "502 5.5.2 Command not recognized\r\n";

  asio::io_context io_{1};
  tcp::acceptor acceptor_{io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::optional<ssl::context> tls_;
  std::chrono::milliseconds delay_;
  std::string ehlo_plain_;
  ResponderStats stats_;
  std::thread thread_;
};

// ---- driver -----------------------------------------------------------------

struct Shared {
  std::string request;
  tcp::endpoint exporter;
  Clock::time_point deadline;  // duration mode
  long to_send = -1;           // requests mode: left to send
  // Results (one thread: no locking).
  std::vector<double> latency_ms, probe_ms, overhead_ms;
  long ok = 0, failed = 0, errors = 0, reconnects = 0;
  Clock::time_point last_done;
  std::string first_failure;

  bool take() {
    if (to_send >= 0) return to_send-- > 0;
    return Clock::now() < deadline;
  }
};

std::optional<std::size_t> header_value(std::string_view headers, std::string_view name) {
  // Case-insensitive search for "\r\nName:" followed by a number.
  for (std::size_t pos = headers.find("\r\n"); pos != std::string_view::npos; pos = headers.find("\r\n", pos + 2)) {
    std::string_view line = headers.substr(pos + 2);
    if (line.size() <= name.size() || line[name.size()] != ':') continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i)
      same = (line[i] | 0x20) == (name[i] | 0x20);
    if (!same) continue;
    std::size_t v = name.size() + 1;
    while (v < line.size() && line[v] == ' ') ++v;
    std::size_t value = 0;
    auto [end, ec] = std::from_chars(line.data() + v, line.data() + line.size(), value);
    if (ec == std::errc()) return value;
    return std::nullopt;
  }
  return std::nullopt;
}

bool closes(std::string_view headers) {
  std::string lower(headers);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return lower.find("\r\nconnection: close") != std::string::npos;
}

struct Worker {
  explicit Worker(asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  std::string buffer;
};

asio::awaitable<void> run_worker(Worker& w, Shared& shared) {
  error_code ec;
  while (shared.take()) {
    const auto started = Clock::now();
    if (!w.socket.is_open()) {
      ++shared.reconnects;
      w.buffer.clear();
      co_await w.socket.async_connect(shared.exporter, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        ++shared.errors;
        w.socket.close(ec);
        continue;
      }
      w.socket.set_option(tcp::no_delay(true), ec);
    }
    co_await asio::async_write(w.socket, asio::buffer(shared.request), asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      auto input = asio::dynamic_buffer(w.buffer, 1 << 20);
      std::size_t header_bytes = co_await asio::async_read_until(w.socket, input, std::string_view("\r\n\r\n"),
                                                                 asio::redirect_error(asio::use_awaitable, ec));
      std::optional<std::size_t> length;
      if (!ec) {
        std::string_view headers(w.buffer.data(), header_bytes);
        length = header_value(headers, "content-length");
        if (!length) ec = asio::error::invalid_argument;
      }
      if (!ec && w.buffer.size() < header_bytes + *length) {
        std::size_t missing = header_bytes + *length - w.buffer.size();
        auto rest = asio::dynamic_buffer(w.buffer, 1 << 20);
        co_await asio::async_read(w.socket, rest, asio::transfer_exactly(missing),
                                  asio::redirect_error(asio::use_awaitable, ec));
      }
      if (!ec) {
        const double latency = ms_since(started);
        std::string_view headers(w.buffer.data(), header_bytes);
        std::string_view body(w.buffer.data() + header_bytes, *length);
        const bool status_ok = headers.starts_with("HTTP/1.1 200");
        const bool success = status_ok && body.find("\nprobe_success 1\n") != std::string_view::npos;
        double probe = -1;
        if (auto at = body.find("\nprobe_duration_seconds "); at != std::string_view::npos) {
          probe = std::strtod(std::string(body.substr(at + 24, 32)).c_str(), nullptr) * 1000.0;
        }
        shared.latency_ms.push_back(latency);
        if (probe >= 0) {
          shared.probe_ms.push_back(probe);
          shared.overhead_ms.push_back(std::max(0.0, latency - probe));
        }
        if (success) {
          ++shared.ok;
        } else {
          ++shared.failed;
          if (shared.first_failure.empty()) shared.first_failure = std::string(headers.substr(0, 200)) + std::string(body.substr(0, 2000));
        }
        shared.last_done = Clock::now();
        const bool close_after = closes(headers);
        w.buffer.erase(0, header_bytes + *length);
        if (close_after) w.socket.close(ec);
        continue;
      }
    }
    ++shared.errors;
    w.socket.close(ec);
  }
}

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))]; };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.max = v.back();
  return p;
}

std::string json(const Percentiles& p) {
  char out[160];
  std::snprintf(out, sizeof out, "{\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"max\": %.3f}", p.p50, p.p90, p.p99, p.max);
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", c);
      out += esc;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

int usage() {
  std::cerr << "usage: smtp_bench --exporter HOST:PORT [--module NAME] [--concurrency N]\n"
               "                  (--duration SECONDS | --requests N) [--greeting-delay-ms MS]\n"
               "                  [--tls-cert PEM --tls-key PEM]\n";
  return 2;
}

std::optional<Options> parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (i + 1 >= argc) return std::nullopt;
    std::string value = argv[++i];
    if (arg == "--exporter") o.exporter = value;
    else if (arg == "--module") o.module = value;
    else if (arg == "--concurrency") o.concurrency = std::atoi(value.c_str());
    else if (arg == "--duration") o.duration = std::atof(value.c_str());
    else if (arg == "--requests") o.requests = std::atol(value.c_str());
    else if (arg == "--greeting-delay-ms") o.greeting_delay_ms = std::atoi(value.c_str());
    else if (arg == "--tls-cert") o.tls_cert = value;
    else if (arg == "--tls-key") o.tls_key = value;
    else return std::nullopt;
  }
  if (o.concurrency < 1 || (o.duration <= 0 && o.requests <= 0)) return std::nullopt;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parse(argc, argv);
  if (!options) return usage();

  // Two sockets per concurrent probe here (HTTP client, SMTP server side).
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }

  Responder responder(*options);
  responder.start();

  asio::io_context io(1);
  Shared shared;
  auto colon = options->exporter.rfind(':');
  shared.exporter = tcp::endpoint(asio::ip::make_address(options->exporter.substr(0, colon)),
                                  static_cast<std::uint16_t>(std::atoi(options->exporter.c_str() + colon + 1)));
  shared.request = "GET /probe?target=127.0.0.1:" + std::to_string(responder.port()) + "&module=" + options->module +
                   " HTTP/1.1\r\nHost: " + options->exporter + "\r\nUser-Agent: smtp_bench\r\n\r\n";
  shared.latency_ms.reserve(1 << 20);
  shared.probe_ms.reserve(1 << 20);
  shared.overhead_ms.reserve(1 << 20);

  // Connect every client first, so that the measurement starts with all of them ready.
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < options->concurrency; ++i) {
    auto w = std::make_unique<Worker>(io);
    error_code ec;
    w->socket.connect(shared.exporter, ec);
    if (ec) {
      std::cerr << "smtp_bench: cannot connect to " << options->exporter << ": " << ec.message() << "\n";
      responder.stop();
      return 1;
    }
    w->socket.set_option(tcp::no_delay(true), ec);
    workers.push_back(std::move(w));
  }

  const auto started = Clock::now();
  shared.last_done = started;
  if (options->requests > 0) {
    shared.to_send = options->requests;
  } else {
    shared.deadline = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options->duration));
  }
  for (auto& w : workers) asio::co_spawn(io, run_worker(*w, shared), asio::detached);
  io.run();
  const double elapsed = std::chrono::duration<double>(shared.last_done - started).count();
  for (auto& w : workers) {
    error_code ec;
    w->socket.close(ec);
  }
  const ResponderStats& r = responder.stop();

  const long done = shared.ok + shared.failed;
  std::cout << "{\"concurrency\": " << options->concurrency << ", \"module\": " << json_string(options->module)
            << ", \"requests\": " << done << ", \"ok\": " << shared.ok << ", \"failed\": " << shared.failed
            << ", \"errors\": " << shared.errors << ", \"reconnects\": " << shared.reconnects
            << ", \"elapsed_s\": " << elapsed << ", \"rate\": " << (elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0)
            << ", \"latency_ms\": " << json(percentiles(shared.latency_ms))
            << ", \"probe_ms\": " << json(percentiles(shared.probe_ms))
            << ", \"overhead_ms\": " << json(percentiles(shared.overhead_ms))
            << ", \"responder\": {\"connections\": " << r.connections << ", \"quits\": " << r.quits
            << ", \"tls_handshakes\": " << r.tls_handshakes << ", \"max_concurrent\": " << r.max_active
            << ", \"conversation_ms\": " << json(percentiles(r.conversation_ms)) << "}"
            << ", \"first_failure\": " << json_string(shared.first_failure) << "}\n";
  return 0;
}
