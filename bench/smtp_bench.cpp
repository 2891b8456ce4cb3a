// smtp_bench: the load benchmark's two halves, in one process on two threads
// (--role both, the default), or each in its own process (--role responder,
// --role driver --target HOST:PORT) when one process' fds are not enough.
//
//   responder  a fast SMTP server on 127.0.0.1 (its own thread and io_context):
//              greeting (optionally delayed, counted from the TCP handshake), EHLO/HELO, STARTTLS (with
//              --tls-cert/--tls-key), QUIT. It times every conversation.
//   driver     HTTP/1.1 keep-alive clients (one connection each, --concurrency
//              of them) that send GET /probe?target=127.0.0.1:PORT&module=M to
//              the exporter, back to back, for --duration seconds or until
//              --requests requests were sent. Options: --ramp-ms spreads the
//              first request of each connection over that time (every
//              connection is opened before); --per-connection N closes a connection after
//              N requests (1: one connection per probe); --rate R paces all
//              connections together to R requests per second.
//
// --role responder prints {"port": N} on its first line, serves until SIGTERM
// or SIGINT, then prints its statistics as one JSON object.
//
// It prints one JSON object: rate, HTTP latency, probe_duration_seconds taken
// from each response, the exporter's overhead (HTTP latency minus the probe's
// own duration), probe_smtp_banner_latency_seconds and its error against
// --greeting-delay-ms, and the responder's conversation times and its own
// lateness. bench/run.py and bench/compare.py run the scenarios and check the
// targets, bench/soak.py the long run; see docs/performance.md.
#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

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
#include <cmath>
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

#include "json_string.h"

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
  std::string role = "both";                // both | responder | driver
  std::string exporter = "127.0.0.1:9587";  // HOST:PORT of the exporter
  std::string target;                       // driver: HOST:PORT of the SMTP server to probe
  std::string module = "smtp_banner";
  int concurrency = 1;
  double duration = 0;     // seconds; 0: use --requests
  long requests = 0;       // total requests; 0: use --duration
  std::string tls_cert, tls_key;
  int greeting_delay_ms = -1;  // responder: wait before the greeting; driver: the expected banner latency
  int ramp_ms = 0;             // spread the connections' first requests over this time
  long per_connection = 0;     // requests per HTTP connection; 0: keep-alive for the whole run
  double rate = 0;             // requests per second over all connections; 0: as fast as possible
  double progress_s = 0;       // print cumulative counts on stderr this often; 0: never
};

// ---- responder ------------------------------------------------------------

struct ResponderStats {
  long connections = 0;
  long tls_handshakes = 0;
  long quits = 0;  // conversations that ended with QUIT
  int active = 0;
  int max_active = 0;
  std::vector<double> conversation_ms;  // accept → 221 sent (or the end)
  // handshake → greeting written, minus the configured delay: the responder's own lateness
  // (listen queue included), which the exporter's banner latency includes.
  std::vector<double> greeting_late_ms;
  // Time the connection waited in the listen queue before accept (TCP_INFO
  // tcpi_last_data_recv: since the handshake's last ACK; jiffy resolution). The
  // greeting delay counts from then.
  std::vector<double> accept_wait_ms;
  std::optional<Clock::time_point> first_accept;
  Clock::time_point last_accept;
};

class Responder {
 public:
  Responder(const Options& options) : delay_(std::max(0, options.greeting_delay_ms)) {
    // The largest backlog the kernel allows (net.core.somaxconn caps it), not Asio's SOMAXCONN.
    const tcp::endpoint local(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(local.protocol());
    acceptor_.bind(local);
    acceptor_.listen(65535);
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
    stats_.greeting_late_ms.reserve(1 << 16);
    stats_.accept_wait_ms.reserve(1 << 16);
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
    // The client's clock starts when its connect completes, not when this loop gets to accept:
    // count the greeting delay from the handshake, which TCP_INFO dates (to a jiffy, 1-4 ms).
    tcp_info info{};
    socklen_t info_size = sizeof info;
    double queued_ms = 0;
    if (getsockopt(socket.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &info_size) == 0)
      queued_ms = static_cast<double>(info.tcpi_last_data_recv);
    stats_.accept_wait_ms.push_back(queued_ms);
    const auto established = started - std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double, std::milli>(queued_ms));
    ++stats_.connections;
    if (!stats_.first_accept) stats_.first_accept = started;
    stats_.last_accept = started;
    stats_.max_active = std::max(stats_.max_active, ++stats_.active);
    error_code ec;
    if (delay_.count() > 0) {
      asio::steady_timer timer(io_, established + delay_);
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    std::string buffer;
    Outcome outcome = co_await session(socket, buffer, false, established);
    if (outcome == Outcome::starttls && tls_) {
      ssl::stream<tcp::socket&> tls(socket, *tls_);
      co_await tls.async_handshake(ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) {
        ++stats_.tls_handshakes;
        buffer.clear();  // input sent before the handshake is discarded
        outcome = co_await session(tls, buffer, true, established);
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
  asio::awaitable<Outcome> session(Stream& stream, std::string& buffer, bool in_tls, Clock::time_point established) {
    error_code ec;
    if (!in_tls) {
      co_await asio::async_write(stream, asio::buffer(kGreeting), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Outcome::ended;
      stats_.greeting_late_ms.push_back(ms_since(established) - static_cast<double>(delay_.count()));
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
  tcp::acceptor acceptor_{io_};
  std::optional<ssl::context> tls_;
  std::chrono::milliseconds delay_;
  std::string ehlo_plain_;
  ResponderStats stats_;
  std::thread thread_;
};

// ---- driver -----------------------------------------------------------------

struct Worker {
  Worker(asio::io_context& io, int index) : socket(io), timer(io), index(index) {}
  tcp::socket socket;
  asio::steady_timer timer;
  std::string buffer;
  int index;
  long quota = -1;        // requests mode: left to send by this connection; -1: duration mode
  long on_connection = 0;  // requests sent on the current connection
};

struct Shared {
  std::string request, request_close;  // the second one with "Connection: close"
  tcp::endpoint exporter;
  Clock::time_point started;
  Clock::time_point deadline;  // duration mode
  int concurrency = 1;
  Clock::duration ramp{};      // first request of worker i at started + ramp * i / concurrency
  long per_connection = 0;
  Clock::duration interval{};  // --rate: one request every interval, over all workers
  Clock::time_point next_slot;
  double expected_banner_ms = -1;  // --greeting-delay-ms, to compare the banner latency with
  int active_workers = 0;
  asio::steady_timer* progress = nullptr;
  // Results (one thread: no locking).
  std::vector<double> latency_ms, probe_ms, overhead_ms, banner_ms, banner_error_ms;
  long ok = 0, failed = 0, errors = 0, connects = 0, http_503 = 0, not_200 = 0;
  Clock::time_point last_done;
  Clock::time_point last_first_send;  // when the last worker sent its first request
  std::string first_failure;

  bool take(Worker& w) {
    if (w.quota >= 0) return w.quota-- > 0;
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

// The value of an unlabelled sample "\nNAME VALUE\n" in the response body, or -1.
double sample(std::string_view body, std::string_view name) {
  std::string key = "\n" + std::string(name) + " ";
  auto at = body.find(key);
  if (at == std::string_view::npos) return -1;
  return std::strtod(std::string(body.substr(at + key.size(), 32)).c_str(), nullptr);
}

void worker_done(Shared& shared) {
  if (--shared.active_workers == 0 && shared.progress) shared.progress->cancel();
}

asio::awaitable<void> run_worker(Worker& w, Shared& shared) {
  error_code ec;
  if (shared.ramp.count() > 0) {
    w.timer.expires_at(shared.started + shared.ramp * w.index / shared.concurrency);
    co_await w.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  bool first = true;
  while (shared.take(w)) {
    if (shared.interval.count() > 0) {
      const Clock::time_point slot = shared.next_slot;
      shared.next_slot += shared.interval;
      if (w.quota < 0 && slot >= shared.deadline) break;
      if (slot > Clock::now()) {
        w.timer.expires_at(slot);
        co_await w.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    const auto started = Clock::now();
    if (first) {
      first = false;
      shared.last_first_send = std::max(shared.last_first_send, started);
    }
    if (!w.socket.is_open()) {
      ++shared.connects;
      w.buffer.clear();
      w.on_connection = 0;
      co_await w.socket.async_connect(shared.exporter, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        ++shared.errors;
        if (shared.first_failure.empty()) shared.first_failure = "connect: " + ec.message();
        w.socket.close(ec);
        continue;
      }
      w.socket.set_option(tcp::no_delay(true), ec);
    }
    const bool last_on_connection = shared.per_connection > 0 && ++w.on_connection >= shared.per_connection;
    const std::string& request = last_on_connection ? shared.request_close : shared.request;
    co_await asio::async_write(w.socket, asio::buffer(request), asio::redirect_error(asio::use_awaitable, ec));
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
        if (!status_ok) ++shared.not_200;
        if (headers.starts_with("HTTP/1.1 503")) ++shared.http_503;
        const bool success = status_ok && body.find("\nprobe_success 1\n") != std::string_view::npos;
        shared.latency_ms.push_back(latency);
        if (const double probe = sample(body, "probe_duration_seconds"); probe >= 0) {
          shared.probe_ms.push_back(probe * 1000.0);
          shared.overhead_ms.push_back(std::max(0.0, latency - probe * 1000.0));
        }
        if (const double banner = sample(body, "probe_smtp_banner_latency_seconds"); banner >= 0) {
          shared.banner_ms.push_back(banner * 1000.0);
          if (shared.expected_banner_ms >= 0) shared.banner_error_ms.push_back(banner * 1000.0 - shared.expected_banner_ms);
        }
        if (success) {
          ++shared.ok;
        } else {
          ++shared.failed;
          if (shared.first_failure.empty()) shared.first_failure = std::string(headers.substr(0, 200)) + std::string(body.substr(0, 2000));
        }
        shared.last_done = Clock::now();
        const bool close_after = closes(headers) || last_on_connection;
        w.buffer.erase(0, header_bytes + *length);
        if (close_after) w.socket.close(ec);
        continue;
      }
    }
    ++shared.errors;
    if (shared.first_failure.empty()) shared.first_failure = "HTTP exchange: " + ec.message();
    w.socket.close(ec);
  }
  worker_done(shared);
}

// --progress-s: one JSON line of cumulative counts on stderr every interval (bench/soak.py).
asio::awaitable<void> report_progress(asio::steady_timer& timer, Shared& shared, double every_s) {
  error_code ec;
  const auto step = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(every_s));
  for (auto next = shared.started + step; shared.active_workers > 0; next += step) {
    timer.expires_at(next);
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    std::fprintf(stderr, "{\"t\": %.1f, \"ok\": %ld, \"failed\": %ld, \"errors\": %ld, \"http_503\": %ld}\n",
                 std::chrono::duration<double>(Clock::now() - shared.started).count(), shared.ok, shared.failed,
                 shared.errors, shared.http_503);
    std::fflush(stderr);
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

std::vector<double> absolute(std::vector<double> v) {
  for (double& x : v) x = std::abs(x);
  return v;
}

std::string responder_json(const ResponderStats& r) {
  std::string out = "{\"connections\": " + std::to_string(r.connections) + ", \"quits\": " + std::to_string(r.quits) +
                    ", \"tls_handshakes\": " + std::to_string(r.tls_handshakes) +
                    ", \"max_concurrent\": " + std::to_string(r.max_active) +
                    ", \"conversation_ms\": " + json(percentiles(r.conversation_ms)) +
                    ", \"greeting_late_ms\": " + json(percentiles(r.greeting_late_ms)) +
                    ", \"accept_wait_ms\": " + json(percentiles(r.accept_wait_ms)) + ", \"accept_spread_ms\": " +
                    std::to_string(r.first_accept ? std::chrono::duration<double, std::milli>(r.last_accept - *r.first_accept).count() : 0.0) +
                    "}";
  return out;
}

int usage() {
  std::cerr << "usage: smtp_bench [--role both|driver] --exporter HOST:PORT [--target HOST:PORT] [--module NAME]\n"
               "                  [--concurrency N] (--duration SECONDS | --requests N) [--greeting-delay-ms MS]\n"
               "                  [--ramp-ms MS] [--per-connection N] [--rate R] [--progress-s S]\n"
               "                  [--tls-cert PEM --tls-key PEM]\n"
               "       smtp_bench --role responder [--greeting-delay-ms MS] [--tls-cert PEM --tls-key PEM]\n"
               "  --role driver needs --target (the SMTP server to probe); --role both (the default)\n"
               "  probes its own responder. --greeting-delay-ms: the responder waits that long before\n"
               "  its greeting; the driver compares probe_smtp_banner_latency_seconds with it.\n";
  return 2;
}

std::optional<Options> parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (i + 1 >= argc) return std::nullopt;
    std::string value = argv[++i];
    if (arg == "--role") o.role = value;
    else if (arg == "--exporter") o.exporter = value;
    else if (arg == "--target") o.target = value;
    else if (arg == "--module") o.module = value;
    else if (arg == "--concurrency") o.concurrency = std::atoi(value.c_str());
    else if (arg == "--duration") o.duration = std::atof(value.c_str());
    else if (arg == "--requests") o.requests = std::atol(value.c_str());
    else if (arg == "--greeting-delay-ms") o.greeting_delay_ms = std::atoi(value.c_str());
    else if (arg == "--ramp-ms") o.ramp_ms = std::atoi(value.c_str());
    else if (arg == "--per-connection") o.per_connection = std::atol(value.c_str());
    else if (arg == "--rate") o.rate = std::atof(value.c_str());
    else if (arg == "--progress-s") o.progress_s = std::atof(value.c_str());
    else if (arg == "--tls-cert") o.tls_cert = value;
    else if (arg == "--tls-key") o.tls_key = value;
    else return std::nullopt;
  }
  if (o.role == "responder") return o;
  if (o.role != "both" && o.role != "driver") return std::nullopt;
  if (o.role == "driver" && o.target.empty()) return std::nullopt;
  if (o.concurrency < 1 || (o.duration <= 0 && o.requests <= 0)) return std::nullopt;
  if (o.ramp_ms < 0 || o.per_connection < 0 || o.rate < 0 || o.progress_s < 0) return std::nullopt;
  return o;
}

tcp::endpoint endpoint(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  return tcp::endpoint(asio::ip::make_address(host_port.substr(0, colon)),
                       static_cast<std::uint16_t>(std::atoi(host_port.c_str() + colon + 1)));
}

// --role responder: serves until SIGTERM or SIGINT, then prints its statistics.
int run_responder(const Options& options) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before the thread starts: it inherits the mask
  Responder responder(options);
  responder.start();
  std::cout << "{\"port\": " << responder.port() << "}" << std::endl;
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  const ResponderStats& r = responder.stop();
  std::cout << "{\"greeting_delay_ms\": " << std::max(0, options.greeting_delay_ms)
            << ", \"responder\": " << responder_json(r) << "}" << std::endl;
  return 0;
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

  if (options->role == "responder") return run_responder(*options);

  std::optional<Responder> responder;
  std::string target = options->target;
  if (options->role == "both") {
    responder.emplace(*options);
    responder->start();
    target = "127.0.0.1:" + std::to_string(responder->port());
  }

  asio::io_context io(1);
  Shared shared;
  shared.exporter = endpoint(options->exporter);
  shared.request = "GET /probe?target=" + target + "&module=" + options->module + " HTTP/1.1\r\nHost: " +
                   options->exporter + "\r\nUser-Agent: smtp_bench\r\n";
  shared.request_close = shared.request + "Connection: close\r\n\r\n";
  shared.request += "\r\n";
  shared.concurrency = options->concurrency;
  shared.ramp = std::chrono::milliseconds(options->ramp_ms);
  shared.per_connection = options->per_connection;
  if (options->rate > 0)
    shared.interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / options->rate));
  shared.expected_banner_ms = options->greeting_delay_ms;
  shared.latency_ms.reserve(1 << 20);
  shared.probe_ms.reserve(1 << 20);
  shared.overhead_ms.reserve(1 << 20);
  shared.banner_ms.reserve(1 << 20);

  // Connect every client first, so that the measurement starts with all of them ready, as a
  // Prometheus server keeps one connection per target open between scrapes; --ramp-ms spreads the
  // first requests, not the connections.
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < options->concurrency; ++i) {
    auto w = std::make_unique<Worker>(io, i);
    if (options->requests > 0)
      w->quota = options->requests / options->concurrency + (i < options->requests % options->concurrency ? 1 : 0);
    {
      error_code ec;
      w->socket.connect(shared.exporter, ec);
      if (ec) {
        std::cerr << "smtp_bench: cannot connect to " << options->exporter << ": " << ec.message() << "\n";
        if (responder) responder->stop();
        return 1;
      }
      w->socket.set_option(tcp::no_delay(true), ec);
    }
    workers.push_back(std::move(w));
  }

  const auto started = Clock::now();
  shared.started = shared.next_slot = shared.last_done = shared.last_first_send = started;
  if (options->duration > 0)
    shared.deadline = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options->duration));
  shared.active_workers = options->concurrency;
  for (auto& w : workers) asio::co_spawn(io, run_worker(*w, shared), asio::detached);
  asio::steady_timer progress(io);
  if (options->progress_s > 0) {
    shared.progress = &progress;
    asio::co_spawn(io, report_progress(progress, shared, options->progress_s), asio::detached);
  }
  io.run();
  const double elapsed = std::chrono::duration<double>(shared.last_done - started).count();
  for (auto& w : workers) {
    error_code ec;
    w->socket.close(ec);
  }

  const long done = shared.ok + shared.failed;
  std::vector<double> banner_error = shared.banner_error_ms;
  std::cout << "{\"concurrency\": " << options->concurrency << ", \"module\": " << json_string(options->module)
            << ", \"requests\": " << done << ", \"ok\": " << shared.ok << ", \"failed\": " << shared.failed
            << ", \"errors\": " << shared.errors << ", \"http_503\": " << shared.http_503
            << ", \"not_200\": " << shared.not_200 << ", \"reconnects\": " << shared.connects
            << ", \"first_requests_spread_ms\": " << std::chrono::duration<double, std::milli>(shared.last_first_send - started).count()
            << ", \"elapsed_s\": " << elapsed << ", \"rate\": " << (elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0)
            << ", \"latency_ms\": " << json(percentiles(shared.latency_ms))
            << ", \"probe_ms\": " << json(percentiles(shared.probe_ms))
            << ", \"overhead_ms\": " << json(percentiles(shared.overhead_ms))
            << ", \"banner_ms\": " << json(percentiles(shared.banner_ms))
            << ", \"banner_samples\": " << shared.banner_ms.size()
            << ", \"banner_error_ms\": " << json(percentiles(banner_error))
            << ", \"banner_abs_error_ms\": " << json(percentiles(absolute(banner_error)));
  if (responder) std::cout << ", \"responder\": " << responder_json(responder->stop());
  std::cout << ", \"first_failure\": " << json_string(shared.first_failure) << "}\n";
  return 0;
}
