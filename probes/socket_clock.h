// Kernel-side times of a TCP connection, so that latencies stay right when
// the event loop is busy: with thousands of probes in flight, the loop may
// run a completion handler milliseconds after the data arrived, and a
// Clock::now() taken there would add that wait to the server's latency.
//
//  - the handshake's end: when connect() was issued plus the SYN → SYN-ACK
//    round trip the kernel measured (TCP_INFO tcpi_rtt);
//  - a read's arrival: the receive timestamp the kernel put on the first
//    segment read (SO_TIMESTAMPNS), taken when the packet came in.
//
// Both fall back to the loop's own clock when the kernel has no answer.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace smtp_exporter::probes {

using Clock = std::chrono::steady_clock;

// When the TCP handshake of `fd` ended, given when connect() was called and
// when the loop saw it complete; never later than `seen`.
Clock::time_point handshake_done(int fd, Clock::time_point connect_called, Clock::time_point seen);

// Asks the kernel to timestamp the segments received on `fd`.
void enable_receive_timestamps(int fd);

struct Received {
  std::size_t bytes = 0;  // appended to the buffer; 0 with error 0 means the peer closed
  int error = 0;          // errno; EAGAIN/EWOULDBLOCK when nothing was waiting
  std::optional<Clock::time_point> arrived;  // of the first byte read, if timestamped
};

// One non-blocking recvmsg() of at most `max` bytes appended to `buffer`.
Received receive(int fd, std::string& buffer, std::size_t max);

}  // namespace smtp_exporter::probes
