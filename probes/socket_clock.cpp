#include "socket_clock.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>

namespace smtp_exporter::probes {
namespace {

// A CLOCK_REALTIME kernel timestamp on the steady clock: its age now, taken
// from now. (A step of the wall clock between the two is not corrected; the
// age is at most the loop's delay.)
Clock::time_point steady_from_realtime(const timespec& stamp) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  auto age = std::chrono::seconds(now.tv_sec - stamp.tv_sec) + std::chrono::nanoseconds(now.tv_nsec - stamp.tv_nsec);
  auto steady_now = Clock::now();
  if (age < Clock::duration::zero()) return steady_now;
  return steady_now - std::chrono::duration_cast<Clock::duration>(age);
}

}  // namespace

Clock::time_point handshake_done(int fd, Clock::time_point connect_called, Clock::time_point seen) {
  tcp_info info{};
  socklen_t length = sizeof info;
  // tcpi_rtt is the smoothed RTT in µs; right after the handshake it is the
  // one SYN → SYN-ACK sample (0 when the SYN was retransmitted: no sample).
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0 || info.tcpi_rtt == 0) return seen;
  auto done = connect_called + std::chrono::microseconds(info.tcpi_rtt);
  return done < seen ? done : seen;
}

void enable_receive_timestamps(int fd) {
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
}

Received receive(int fd, std::string& buffer, std::size_t max) {
  Received out;
  const std::size_t old = buffer.size();
  buffer.resize(old + max);
  iovec data{buffer.data() + old, max};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n;
  do n = recvmsg(fd, &message, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    out.error = errno;
    n = 0;
  }
  buffer.resize(old + static_cast<std::size_t>(n));
  out.bytes = static_cast<std::size_t>(n);
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); n > 0 && c; c = CMSG_NXTHDR(&message, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec stamp{};
      std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
      out.arrived = steady_from_realtime(stamp);
    }
  return out;
}

}  // namespace smtp_exporter::probes
