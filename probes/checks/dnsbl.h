// DNS blocklists (probes/checks/dnsbl.cpp): every address a probe connects to,
// looked up in the zones of [dnsbl] per RFC 5782, each zone's own health
// tested (§5), answers cached per (zone, address).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>

#include "dns.h"
#include "dnsbl_answer.h"
#include "smtp_exporter/check.h"

namespace smtp_exporter::probes {

// The answer to an A query of a blocklist (dnsbl_answer.h).
DnsblAnswer classify_dnsbl_answer(const ALookup& lookup);
// The query name of `address` in `zone`: reversed octets or nibbles, then the
// zone's DQS key if it has one, then the zone.
std::string dnsbl_query_name(const boost::asio::ip::address& address, const config::DnsblZone& zone);

// One zone's answer about the probed address.
struct DnsblZoneResult {
  std::string zone;
  bool degraded = false;  // the zone's severity
  ZoneHealth health = ZoneHealth::unknown;
  std::string health_detail;
  DnsblAnswer answer;
  bool cached = false;  // from the cache: no query sent
  // Whether the answer counts: not an error, and the zone is not broken.
  bool usable() const { return health != ZoneHealth::broken && answer.kind != DnsblAnswer::Kind::error; }
};

struct DnsblSection {
  std::string ip;
  std::vector<DnsblZoneResult> zones;  // in [dnsbl] zones order
};

// What the unit remembers across probes, process-wide and shared by every
// thread of the io_context (a mutex guards it): answers per (zone, address)
// until their TTL or min_interval ends, each zone's health and when it was
// last tested, the queries sent per zone, and the outbound addresses'
// answers. Times are passed in, for tests.
class DnsblMemory {
 public:
  using Clock = std::chrono::steady_clock;

  std::optional<DnsblAnswer> cached(const std::string& zone, const std::string& ip, Clock::time_point now) const;
  // Keeps `answer` for min(ttl, min_interval); not an answer cut short by
  // the probe's deadline.
  void remember(const std::string& zone, const std::string& ip, const DnsblAnswer& answer, std::chrono::seconds ttl,
                config::Duration min_interval, Clock::time_point now);
  // Whether the zone is due for its test, and if so claims it (concurrent
  // probes do not test it again).
  bool health_due(const std::string& zone, config::Duration min_interval, Clock::time_point now);
  void set_health(const std::string& zone, ZoneHealth health, const std::string& detail);
  ZoneHealth health(const std::string& zone, std::string& detail) const;
  void count_query(const std::string& zone);
  void set_outbound(const std::string& zone, const std::string& ip, const DnsblZoneResult& result);
  // Forgets what belongs to zones and addresses no longer configured (the
  // query counts stay: counters do not go back).
  void retain(const config::DnsblConfig* config);
  void series(std::vector<Series>& out) const;
  void clear();  // tests

 private:
  struct Zone {
    ZoneHealth health = ZoneHealth::unknown;
    std::string detail;
    std::optional<Clock::time_point> tested_at;
  };
  struct Entry {
    DnsblAnswer answer;
    Clock::time_point expires;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Zone> zones_;
  std::map<std::pair<std::string, std::string>, Entry> answers_;  // (zone, ip)
  std::map<std::string, double> queries_;
  std::map<std::pair<std::string, std::string>, DnsblZoneResult> outbound_;  // (zone, ip)
};

// The one process-wide memory of the unit.
DnsblMemory& dnsbl_memory();

const Check& dnsbl_check();

}  // namespace smtp_exporter::probes
