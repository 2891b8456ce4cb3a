// Runs several coroutines at once on the current executor and waits for all
// of them (Boost 1.74 has no awaitable operators or parallel groups).
#pragma once

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

namespace smtp_exporter::probes {

// make(i) returns an awaitable<T>; the results come back in index order.
// The children run on the caller's executor (its strand), so the bookkeeping
// below needs no lock. They must not throw.
template <typename T, typename Make>
boost::asio::awaitable<std::vector<T>> gather(std::size_t n, Make make) {
  namespace asio = boost::asio;
  auto executor = co_await asio::this_coro::executor;
  std::vector<T> results(n);
  std::size_t pending = n;
  asio::steady_timer all_done(executor, asio::steady_timer::time_point::max());
  for (std::size_t i = 0; i < n; ++i)
    asio::co_spawn(executor, make(i), [&results, &pending, &all_done, i](std::exception_ptr, T value) {
      results[i] = std::move(value);
      if (--pending == 0) all_done.cancel();
    });
  boost::system::error_code ec;
  while (pending > 0) co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return results;
}

}  // namespace smtp_exporter::probes
