// Socket activation (--web.systemd-socket): the sd_listen_fds(3) protocol by
// hand, without libsystemd. systemd passes the listening sockets of the
// .socket unit as descriptors 3, 4, ... and says how many in LISTEN_FDS, for
// the process LISTEN_PID.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace smtp_exporter::exporter {

constexpr int kListenFdsStart = 3;  // SD_LISTEN_FDS_START

// The number of descriptors passed, from the values of LISTEN_PID and
// LISTEN_FDS (null: unset) for the process `self`; nullopt with a one-line
// `error` when they are missing, for another process, or not numbers.
std::optional<int> listen_fds_count(const char* listen_pid, const char* listen_fds, long self, std::string& error);

// The descriptors systemd passed to this process, marked close-on-exec, after
// removing LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from the environment (as
// sd_listen_fds(1) does). Throws std::runtime_error with the reason when there
// are none.
std::vector<int> systemd_listen_fds();

}  // namespace smtp_exporter::exporter
