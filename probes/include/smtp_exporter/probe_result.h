// What one probe found: plain data, filled by the probe and read by the
// metrics renderer and the debug page. No sockets, HTTP or Prometheus here.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smtp_exporter::probes {

// The steps of the conversation, in order. Also the `stage` of a failure and
// the `phase` label of probe_smtp_duration_seconds.
enum class Stage { resolve, connect, banner, ehlo, quit };
std::string_view to_string(Stage);

enum class FailureReason {
  dns_error,        // the name did not resolve (or has no address of a usable family)
  refused,          // TCP connection refused
  unreachable,      // network or host unreachable
  network_error,    // any other socket error
  timeout,          // the probe deadline passed during this stage
  closed,           // the server closed (or reset) the connection
  protocol_error,   // the bytes received are not a valid SMTP reply
  unexpected_code,  // a valid reply with a code other than the expected one
};
std::string_view to_string(FailureReason);

struct Failure {
  Stage stage;
  FailureReason reason;
  std::string detail;  // one human-readable line, safe to show
};

// One EHLO keyword line: "SIZE 10240000" → {"SIZE", "10240000"}.
struct EhloExtension {
  std::string keyword;  // upper-cased
  std::string params;
};

// Step-by-step record of the conversation for `&debug=true`.
struct LogEntry {
  enum class Kind { info, sent, received, error };
  std::chrono::system_clock::time_point at;
  Kind kind;
  std::string text;  // printable; never holds a secret
};

struct ProbeResult {
  bool success = false;
  double duration_seconds = 0;
  double timeout_seconds = 0;  // the deadline actually applied
  std::optional<int> ip_protocol;  // 4 or 6, once an address was chosen
  std::string ip;                  // the address connected to
  // Time spent in each stage that ran, in order.
  std::vector<std::pair<Stage, double>> stage_seconds;
  std::optional<double> banner_latency_seconds;  // TCP established → greeting complete
  std::optional<int> banner_code;
  std::optional<int> last_code;  // code of the last reply seen
  std::vector<std::string> banner_lines;
  std::vector<EhloExtension> extensions;
  bool helo_fallback = false;  // EHLO was rejected and HELO worked
  std::optional<std::uint64_t> size_limit;  // SIZE parameter; 0 = no fixed limit
  std::vector<std::string> auth_mechanisms;
  std::optional<Failure> failure;
  std::vector<LogEntry> log;

  std::optional<double> seconds_in(Stage stage) const {
    for (const auto& [s, seconds] : stage_seconds)
      if (s == stage) return seconds;
    return std::nullopt;
  }
};

}  // namespace smtp_exporter::probes
