// The pipeline of one host: the session units in order over one SMTP
// session, QUIT, and, after a temporary failure (greylisting), the whole
// conversation again on a new connection, all within the probe's deadline;
// then the host units (DNS-only checks of what the session saw).
#include "host_probe.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iterator>

#include "smtp_exporter/check.h"
#include "smtp_session.h"
#include "verdict.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;

// One conversation: each session unit's step until one ends it.
asio::awaitable<void> converse(SmtpSession& session, CheckContext& context) {
  session.note(LogEntry::Kind::info, "Beginning probe of " + context.request.host + " port " +
                                         std::to_string(context.request.port) + " with a " +
                                         config::format_duration(context.deadline.budget()) + " deadline");
  for (const Check* check : enabled_checks(Phase::session, context.request.module)) {
    Next next = co_await check->run(context);
    if (next == Next::end) co_return;
    if (next == Next::quit) break;
  }
  co_await session.quit();
}

}  // namespace

asio::awaitable<ProbeResult> run_host_probe(const ProbeRequest& request, const Deadline& deadline) {
  auto started = Clock::now();
  auto io = std::make_shared<SessionIo>(co_await asio::this_coro::executor);
  io->arm(deadline, io);
  ProbeResult result;
  std::vector<LogEntry> earlier_log;     // of the attempts before this one
  std::vector<Failure> earlier_failures;  // their temporary failures
  boost::system::error_code ignored;
  for (int attempt = 1;; ++attempt) {
    result = ProbeResult{};
    SmtpSession session(request, deadline, io, result);
    CheckContext context{request, result, deadline, &session, {}};
    co_await converse(session, context);
    io->socket.close(ignored);
    if (request.module.auth || request.module.send) result.attempts = attempt;
    bool temporary = result.failure && result.failure->reason == FailureReason::temporary_failure;
    if (!temporary || attempt > request.module.retries || io->expired) break;
    // Greylisting: wait, then start over on a new connection (the socket
    // reopens on connect).
    if (deadline.remaining() <= request.module.retry_delay) {
      session.note(LogEntry::Kind::info, "Not retrying: the retry delay of " +
                                             config::format_duration(request.module.retry_delay) +
                                             " would pass the deadline");
      break;
    }
    earlier_failures.push_back(*result.failure);
    session.note(LogEntry::Kind::info, "Temporary failure; retrying in " +
                                           config::format_duration(request.module.retry_delay) + " (attempt " +
                                           std::to_string(attempt + 1) + " of " +
                                           std::to_string(request.module.retries + 1) + ")");
    earlier_log.insert(earlier_log.end(), std::make_move_iterator(result.log.begin()),
                       std::make_move_iterator(result.log.end()));
    asio::steady_timer wait(io->socket.get_executor(), request.module.retry_delay);
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  io->deadline.cancel();
  io->socket.close(ignored);
  result.retried = std::move(earlier_failures);
  for (const Check* check : enabled_checks(Phase::host, request.module)) {
    CheckContext context{request, result, deadline, nullptr, {}};
    co_await check->run(context);
  }
  if (!earlier_log.empty()) {
    earlier_log.insert(earlier_log.end(), std::make_move_iterator(result.log.begin()),
                       std::make_move_iterator(result.log.end()));
    result.log = std::move(earlier_log);
  }
  finish(result, started, request);
  co_return result;
}

}  // namespace smtp_exporter::probes
