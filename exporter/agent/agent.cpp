#include "agent/agent.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <mutex>
#include <random>

#include "smtp_exporter/log.h"
#include "smtp_exporter/probe.h"

namespace smtp_exporter::exporter {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

constexpr double kJitter = 0.1;                                 // each interval varies by ±10%
constexpr auto kMaxFirstDelay = std::chrono::seconds(5);  // the first probes spread over this

}  // namespace

struct Agent::State : std::enable_shared_from_this<State> {
  explicit State(std::size_t concurrency) : free_slots(concurrency) {}

  // Everything below but `results` is touched only on `strand`.
  std::optional<asio::strand<asio::any_io_executor>> strand;
  std::uint64_t generation = 0;
  std::vector<std::weak_ptr<asio::steady_timer>> sleepers;
  std::size_t free_slots;
  std::deque<std::shared_ptr<asio::steady_timer>> waiting;  // for a slot
  std::mt19937_64 random{std::random_device{}()};

  mutable std::mutex mutex;  // guards `results`, read by HTTP handlers
  std::vector<TargetStatus> results;

  asio::awaitable<bool> acquire(std::uint64_t gen) {
    if (free_slots > 0) {
      --free_slots;
      co_return true;
    }
    auto wake = std::make_shared<asio::steady_timer>(*strand, asio::steady_timer::time_point::max());
    waiting.push_back(wake);
    boost::system::error_code ec;
    co_await wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));  // release() hands the slot over
    if (gen == generation) co_return true;
    release();
    co_return false;
  }

  void release() {
    if (waiting.empty()) {
      ++free_slots;
    } else {
      waiting.front()->cancel();
      waiting.pop_front();
    }
  }

  Clock::duration jittered(Clock::duration interval) {
    std::uniform_real_distribution<double> factor(1 - kJitter, 1 + kJitter);
    return std::chrono::duration_cast<Clock::duration>(interval * factor(random));
  }

  asio::awaitable<void> loop(std::shared_ptr<const Runtime> runtime, std::size_t index, std::uint64_t gen) {
    auto self = shared_from_this();  // the loop outlives an Agent destroyed before its io_context
    const config::ScheduledTarget& target = runtime->config.targets[index];
    auto sleeper = std::make_shared<asio::steady_timer>(*strand);
    sleepers.push_back(sleeper);
    boost::system::error_code ec;
    auto first = std::min<Clock::duration>(target.interval, kMaxFirstDelay);
    sleeper->expires_after(std::chrono::duration_cast<Clock::duration>(
        first * std::uniform_real_distribution<double>(0, 1)(random)));
    co_await sleeper->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    while (gen == generation) {
      auto started = Clock::now();
      if (!co_await acquire(gen)) break;
      std::string error;
      // Never longer than the interval: a probe ends before the next one is due.
      const auto deadline = std::min(runtime->config.modules.at(target.module).timeout,
                                     std::chrono::duration_cast<std::chrono::milliseconds>(target.interval));
      auto request = runtime->request(target.module, target.target, "", error, deadline);  // checked at load
      probes::ProbeResult result = co_await probes::run_probe(*request);
      release();
      if (gen != generation) break;
      log::debug("scheduled probe finished", {{"target_name", target.name},
                                              {"success", result.success ? "true" : "false"},
                                              {"health", probes::to_string(result.health.status)}});
      {
        std::lock_guard lock(mutex);
        TargetStatus& status = results[index];
        status.port = request->port;
        probes::tally_series(result, status.totals);
        status.last = std::move(result);
        status.finished_at = std::chrono::system_clock::now();
        ++status.runs;
      }
      // The next start is one (jittered) interval after this one started:
      // a slow probe shortens the pause, and never overlaps the next run.
      sleeper->expires_at(std::max(started + jittered(target.interval), Clock::now()));
      co_await sleeper->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  // The statuses of the new targets; one that keeps its name keeps its last
  // result. Under the mutex, so /healthz lists the targets at once.
  void replace_results(const Runtime& runtime) {
    std::lock_guard lock(mutex);
    std::vector<TargetStatus> fresh;
    for (const auto& target : runtime.config.targets) {
      TargetStatus status{target, 0, std::nullopt, {}, 0};
      for (auto& old : results)
        if (old.target.name == target.name) {
          status.port = old.port;
          status.last = std::move(old.last);
          status.finished_at = old.finished_at;
          status.runs = old.runs;
          status.totals = std::move(old.totals);  // counters never go back
        }
      fresh.push_back(std::move(status));
    }
    results = std::move(fresh);
  }

  // On the strand: end the loops of the previous generation, start new ones.
  void restart(std::shared_ptr<const Runtime> runtime) {
    ++generation;
    for (auto& weak : sleepers)
      if (auto timer = weak.lock()) timer->cancel();
    sleepers.clear();
    for (auto& waiter : waiting) waiter->cancel();
    waiting.clear();
    for (std::size_t i = 0; i < runtime->config.targets.size(); ++i)
      asio::co_spawn(*strand, loop(runtime, i, generation), asio::detached);
  }
};

Agent::Agent(std::size_t concurrency) : state_(std::make_shared<State>(concurrency)) {}

Agent::~Agent() = default;

void Agent::run(const asio::any_io_executor& executor, std::shared_ptr<const Runtime> runtime) {
  if (!state_->strand) state_->strand.emplace(asio::make_strand(executor));
  state_->replace_results(*runtime);
  asio::post(*state_->strand, [state = state_, runtime = std::move(runtime)] { state->restart(runtime); });
}

void Agent::stop() {
  if (!state_->strand) return;
  auto empty = std::make_shared<Runtime>();
  state_->replace_results(*empty);
  asio::post(*state_->strand, [state = state_, empty] { state->restart(empty); });
}

std::vector<TargetStatus> Agent::snapshot() const {
  std::lock_guard lock(state_->mutex);
  return state_->results;
}

}  // namespace smtp_exporter::exporter
