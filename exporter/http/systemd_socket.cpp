#include "http/systemd_socket.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace smtp_exporter::exporter {
namespace {

std::optional<long> number(std::string_view text) {
  long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n < 0) return std::nullopt;
  return n;
}

}  // namespace

std::optional<int> listen_fds_count(const char* listen_pid, const char* listen_fds, long self, std::string& error) {
  if (!listen_pid || !listen_fds) {
    error = "LISTEN_PID and LISTEN_FDS are not set: no socket was passed by systemd (start the .socket unit)";
    return std::nullopt;
  }
  auto pid = number(listen_pid);
  if (!pid) {
    error = "LISTEN_PID \"" + std::string(listen_pid) + "\" is not a process id";
    return std::nullopt;
  }
  if (*pid != self) {
    error = "LISTEN_PID is " + std::string(listen_pid) + ", not this process (" + std::to_string(self) +
            "): the sockets were passed to another process";
    return std::nullopt;
  }
  auto count = number(listen_fds);
  if (!count || *count < 1 || *count > 1024) {
    error = "LISTEN_FDS \"" + std::string(listen_fds) + "\" is not a number of sockets from 1 to 1024";
    return std::nullopt;
  }
  return static_cast<int>(*count);
}

std::vector<int> systemd_listen_fds() {
  std::string error;
  auto count = listen_fds_count(std::getenv("LISTEN_PID"), std::getenv("LISTEN_FDS"), static_cast<long>(getpid()),
                                error);
  for (const char* name : {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"}) unsetenv(name);
  if (!count) throw std::runtime_error("--web.systemd-socket: " + error);
  std::vector<int> fds;
  for (int fd = kListenFdsStart; fd < kListenFdsStart + *count; ++fd) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
      throw std::runtime_error("--web.systemd-socket: descriptor " + std::to_string(fd) + " is not open");
    fds.push_back(fd);
  }
  return fds;
}

}  // namespace smtp_exporter::exporter
