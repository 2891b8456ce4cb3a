// The open-files limit, raised at start-up, and the concurrency limit of
// /probe derived from it: each probe in flight holds two or three file
// descriptors (the scrape's connection, the SMTP connection, a DNS socket
// while it resolves), so the limit decides how many probes can run at once.
#pragma once

#include <cstddef>
#include <cstdint>

#include "smtp_exporter/config.h"

namespace smtp_exporter::exporter {

struct OpenFilesLimit {
  std::uint64_t before = 0;  // soft RLIMIT_NOFILE at start
  std::uint64_t after = 0;   // soft RLIMIT_NOFILE now (the hard limit, if raising worked)
  std::uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard limit (what an unprivileged
// process may do); systemd's LimitNOFILE= or `ulimit -Hn` set the hard one.
OpenFilesLimit raise_open_files_limit();

// [limits] max_concurrent_probes, or, when it is 0, what the soft
// RLIMIT_NOFILE allows: (limit - 64 kept for listeners, logs and /metrics) / 3.
std::size_t max_concurrent_probes(const config::Limits& limits);

// [limits] max_connections, or, when it is 0, the descriptors left by the
// probes: limit - 64 reserved - 2 for each of max_concurrent_probes (its SMTP
// and DNS sockets; its HTTP connection is one of these), but never fewer than
// max_concurrent_probes + 16 (each /probe in flight holds a connection).
std::size_t max_connections(const config::Limits& limits);

}  // namespace smtp_exporter::exporter
