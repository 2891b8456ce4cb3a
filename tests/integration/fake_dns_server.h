// A misbehaving DNS server for the DNS faults of the fault matrix (the DANE
// unit's validator uses it as its [dns] servers forwarder): UDP and TCP on
// the same free port of 127.0.0.1, on its own thread and io_context, so its
// timing does not depend on the code under test.
//   silent:  reads every query and never answers (the validator times out);
//   refuses: answers every query REFUSED (RCODE 5) with its question.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace smtp_exporter::testing {

class FakeDnsServer {
 public:
  enum class Mode { silent, refuses };

  explicit FakeDnsServer(Mode mode);
  ~FakeDnsServer();  // stops the thread; open TCP connections are closed
  FakeDnsServer(const FakeDnsServer&) = delete;
  FakeDnsServer& operator=(const FakeDnsServer&) = delete;

  std::uint16_t port() const;
  std::string server() const;  // "127.0.0.1:PORT", as [dns] servers takes it
  int queries() const;         // queries received, over UDP and TCP

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smtp_exporter::testing
