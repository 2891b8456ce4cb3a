#include "core/open_files.h"

#include <sys/resource.h>

#include <algorithm>

namespace smtp_exporter::exporter {
namespace {

constexpr std::uint64_t kReservedFds = 64;
constexpr std::uint64_t kFdsPerProbe = 3;
constexpr std::uint64_t kSpareConnections = 16;

std::uint64_t soft_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1024 * 1024;
  return limit.rlim_cur;
}

}  // namespace

OpenFilesLimit raise_open_files_limit() {
  OpenFilesLimit out;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return out;
  out.before = out.after = limit.rlim_cur;
  out.hard = limit.rlim_max;
  if (limit.rlim_cur == limit.rlim_max) return out;
  rlimit raised{limit.rlim_max, limit.rlim_max};
  if (setrlimit(RLIMIT_NOFILE, &raised) == 0) out.after = limit.rlim_max;
  return out;
}

std::size_t max_concurrent_probes(const config::Limits& limits) {
  if (limits.max_concurrent_probes > 0) return static_cast<std::size_t>(limits.max_concurrent_probes);
  std::uint64_t fds = soft_limit();
  return static_cast<std::size_t>(std::max<std::uint64_t>(1, (fds > kReservedFds ? fds - kReservedFds : 0) / kFdsPerProbe));
}

std::size_t max_connections(const config::Limits& limits) {
  if (limits.max_connections > 0) return static_cast<std::size_t>(limits.max_connections);
  std::uint64_t fds = soft_limit();
  std::uint64_t available = fds > kReservedFds ? fds - kReservedFds : 0;
  std::uint64_t probes = max_concurrent_probes(limits);
  std::uint64_t left = available > (kFdsPerProbe - 1) * probes ? available - (kFdsPerProbe - 1) * probes : 0;
  // Every /probe in flight holds a connection: never fewer than the probes,
  // plus a few for /metrics and the others.
  return static_cast<std::size_t>(std::max<std::uint64_t>(left, probes + kSpareConnections));
}

}  // namespace smtp_exporter::exporter
