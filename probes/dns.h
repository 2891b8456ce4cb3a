// DNS through c-ares, driven by the probe's own Asio event loop: c-ares tells
// which sockets it wants watched (ARES_OPT_SOCK_STATE_CB), Asio waits on them
// and on c-ares' next timeout, and c-ares does the rest. No thread, no
// blocking call, and a pending lookup can be cancelled at any time.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "smtp_exporter/config.h"
#include "smtp_exporter/probe_result.h"

namespace smtp_exporter::probes {

enum class DnsError { none, nxdomain, nodata, servfail, refused, timeout, cancelled, other };
std::string_view to_string(DnsError);

struct DnsOptions {
  std::vector<std::string> servers;  // "IP", "IP:PORT", "[IPV6]:PORT"; empty: /etc/resolv.conf
  std::chrono::milliseconds timeout{0};  // first try; c-ares doubles it on each retry. 0: resolv.conf's
  int tries = 0;                          // 0: resolv.conf's
};

DnsOptions dns_options(const config::DnsConfig& config);

// The probe failure reason of a lookup error; a lookup cut short by the
// probe's deadline is a timeout.
FailureReason failure_reason(DnsError error, bool deadline_expired);

struct AddressLookup {
  DnsError error = DnsError::none;
  std::string detail;  // c-ares' message when error != none
  std::vector<boost::asio::ip::address> addresses;  // in c-ares' (RFC 6724) order
};

struct MxRecord {
  std::string exchange;
  int preference = 0;
};

struct MxLookup {
  DnsError error = DnsError::none;
  std::string detail;
  std::vector<MxRecord> records;  // sorted by preference, then name
};

struct PtrLookup {
  DnsError error = DnsError::none;
  std::string detail;
  std::vector<std::string> names;  // without the final dot, in answer order
};

// The A records of a name (DNS only), with the smallest TTL of the answer.
struct ALookup {
  DnsError error = DnsError::none;
  std::string detail;
  std::vector<boost::asio::ip::address_v4> addresses;  // in answer order
  std::chrono::seconds ttl{0};
};

// The TXT records of a name (DNS only): one string per record, its
// character-strings joined, as received (not yet made printable).
struct TxtLookup {
  DnsError error = DnsError::none;
  std::string detail;
  std::vector<std::string> texts;
};

// The reverse name of an address under `suffix` (RFC 1035 §3.5, RFC 3596
// §2.5): octets reversed for IPv4 ("25.2.0.192.in-addr.arpa"), nibbles for
// IPv6 ("...ip6.arpa"). Also the query form of a DNS blocklist (RFC 5782).
std::string reverse_name(const boost::asio::ip::address& address, std::string_view suffix = {});

// One c-ares channel. Use it from a single strand; it must outlive its lookups.
class DnsResolver {
 public:
  // Throws std::runtime_error when the channel cannot be set up (bad server list).
  DnsResolver(const boost::asio::any_io_executor& executor, const DnsOptions& options);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // A and AAAA of `name` (and /etc/hosts, as the system resolver would).
  boost::asio::awaitable<AddressLookup> addresses(const std::string& name);
  // The MX records of `domain`.
  boost::asio::awaitable<MxLookup> mx(const std::string& domain);
  // The PTR records of `address` (DNS only, not /etc/hosts).
  boost::asio::awaitable<PtrLookup> ptr(const boost::asio::ip::address& address);
  // The A records of `name` (a full name; no /etc/hosts, no search list).
  boost::asio::awaitable<ALookup> a(const std::string& name);
  // The TXT records of `name`.
  boost::asio::awaitable<TxtLookup> txt(const std::string& name);
  // Ends every pending lookup with DnsError::cancelled.
  void cancel();

 // The c-ares channel and its sockets (dns.cpp); public only for the loop's
 // shutdown hook there.
  struct State;

 private:
  std::shared_ptr<State> state_;
  // One ares_query of `type` for `name`, its answer parsed by Parse on success.
  template <typename Result, void (*Parse)(unsigned char* answer, int length, Result& result)>
  boost::asio::awaitable<Result> query(const std::string& name, int type);
};

// A resolver whose lookups end at `at` (a probe's deadline, a background
// round's end): a timer cancels them then, so every awaiting lookup completes
// with DnsError::timeout instead of waiting for c-ares' own retries.
struct BoundedResolver {
  BoundedResolver(const boost::asio::any_io_executor& executor, const config::DnsConfig& dns,
                  std::chrono::steady_clock::time_point at);
  ~BoundedResolver();
  std::shared_ptr<DnsResolver> resolver;
  boost::asio::steady_timer deadline;
};

}  // namespace smtp_exporter::probes
