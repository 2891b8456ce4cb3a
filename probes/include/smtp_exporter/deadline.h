// The one deadline of a probe. Set once, when the probe starts, from the
// request's timeout (which Runtime::request chose: the module's, the
// scrape-timeout header's, the agent interval's or --timeout's); every part
// of the probe (the SMTP session, the check units, the hosts of an MX set)
// reads this one instead of computing time left on its own.
#pragma once

#include <algorithm>
#include <chrono>

namespace smtp_exporter::probes {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts now, `budget` from now.
  explicit Deadline(std::chrono::milliseconds budget) : budget_(budget), at_(Clock::now() + budget) {}

  Clock::time_point at() const { return at_; }
  // The whole budget, as configured ("deadline of 10s exceeded").
  std::chrono::milliseconds budget() const { return budget_; }
  // Time left, never negative.
  std::chrono::milliseconds remaining() const {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(at_ - Clock::now()));
  }
  bool passed() const { return Clock::now() >= at_; }

 private:
  std::chrono::milliseconds budget_;
  Clock::time_point at_;
};

}  // namespace smtp_exporter::probes
