// Agent mode: the [[targets]] of the configuration probed in the background,
// each on its interval (jittered, never overlapping itself), with at most
// `concurrency` probes at once; their last results feed /metrics and /healthz.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/runtime.h"
#include "smtp_exporter/check.h"
#include "smtp_exporter/probe_result.h"

namespace smtp_exporter::exporter {

struct TargetStatus {
  config::ScheduledTarget target;
  std::uint16_t port = 0;                   // the SMTP port probed
  std::optional<probes::ProbeResult> last;  // none before the first probe ends
  std::chrono::system_clock::time_point finished_at;
  std::uint64_t runs = 0;
  // The check units' counters and histograms over this target's runs
  // (probes::tally_series), for /metrics with the target's labels.
  std::vector<probes::Series> totals = {};
};

class Agent {
 public:
  explicit Agent(std::size_t concurrency = 32);
  ~Agent();

  // Starts probing runtime->config.targets on `executor`, replacing the
  // targets of an earlier call (a reload); a target that keeps its name
  // keeps its last result.
  void run(const boost::asio::any_io_executor& executor, std::shared_ptr<const Runtime> runtime);
  void stop();

  std::vector<TargetStatus> snapshot() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace smtp_exporter::exporter
