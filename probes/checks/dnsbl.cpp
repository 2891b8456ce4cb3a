// DNS blocklists (RFC 5782). A receiver that uses a blocklist refuses mail
// from the addresses it lists. For the address the probe connected to (each
// MX address too) and, in the background, for the outbound addresses of
// [dnsbl]: an A query per zone (reversed octets or nibbles under the zone),
// the TXT record as the reason when listed. The big lists answer errors in
// 127.255.255.0/24 (a query through a public resolver, too many queries, a
// bad key): those are errors, never listings. Each zone is tested (RFC 5782
// §5: 127.0.0.2 listed, 127.0.0.1 not) at most once per min_interval, and a
// broken zone's answers do not count. Answers are cached per (zone, address)
// by their TTL, never longer than min_interval. A zone's DQS key is part of
// the query name only: never logged, shown or exported.
#include "checks/dnsbl.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <atomic>

#include "gather.h"
#include "smtp_exporter/report.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
constexpr std::string_view kName = "dnsbl";
// A background round (zone tests, outbound addresses) ends by then.
constexpr auto kRoundDeadline = std::chrono::seconds(30);

}  // namespace

DnsblAnswer classify_dnsbl_answer(const ALookup& lookup) {
  std::vector<std::uint32_t> a;
  for (const auto& address : lookup.addresses) a.push_back(address.to_uint());
  DnsblStatus status = lookup.error == DnsError::none                                          ? DnsblStatus::answered
                       : lookup.error == DnsError::nxdomain || lookup.error == DnsError::nodata ? DnsblStatus::not_found
                                                                                                : DnsblStatus::failed;
  return classify_dnsbl_answer(status, to_string(lookup.error), a);
}

std::string dnsbl_query_name(const asio::ip::address& address, const config::DnsblZone& zone) {
  return reverse_name(address, zone.key.empty() ? zone.name : zone.key + "." + zone.name);
}

std::optional<DnsblAnswer> DnsblMemory::cached(const std::string& zone, const std::string& ip,
                                               Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto it = answers_.find({zone, ip});
  if (it == answers_.end() || it->second.expires <= now) return std::nullopt;
  return it->second.answer;
}

void DnsblMemory::remember(const std::string& zone, const std::string& ip, const DnsblAnswer& answer,
                           std::chrono::seconds ttl, config::Duration min_interval, Clock::time_point now) {
  // Not listed (NXDOMAIN carries no TTL c-ares shows) and lookup errors: the
  // interval, so that a dead zone does not hold up every probe.
  auto keep = answer.kind == DnsblAnswer::Kind::listed || !answer.codes.empty()
                  ? std::min<Clock::duration>(ttl, min_interval)
                  : Clock::duration(min_interval);
  std::lock_guard lock(mutex_);
  answers_[{zone, ip}] = {answer, now + keep};
}

bool DnsblMemory::health_due(const std::string& zone, config::Duration min_interval, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Zone& z = zones_[zone];
  if (z.tested_at && now - *z.tested_at < min_interval) return false;
  z.tested_at = now;
  return true;
}

void DnsblMemory::set_health(const std::string& zone, ZoneHealth health, const std::string& detail) {
  std::lock_guard lock(mutex_);
  zones_[zone].health = health;
  zones_[zone].detail = detail;
}

ZoneHealth DnsblMemory::health(const std::string& zone, std::string& detail) const {
  std::lock_guard lock(mutex_);
  auto it = zones_.find(zone);
  if (it == zones_.end()) return ZoneHealth::unknown;
  detail = it->second.detail;
  return it->second.health;
}

void DnsblMemory::count_query(const std::string& zone) {
  std::lock_guard lock(mutex_);
  queries_[zone] += 1;
}

void DnsblMemory::set_outbound(const std::string& zone, const std::string& ip, const DnsblZoneResult& result) {
  std::lock_guard lock(mutex_);
  outbound_[{zone, ip}] = result;
}

void DnsblMemory::retain(const config::DnsblConfig* config) {
  auto has_zone = [&](const std::string& zone) {
    return config && std::any_of(config->zones.begin(), config->zones.end(),
                                 [&](const config::DnsblZone& z) { return z.name == zone; });
  };
  auto has_address = [&](const std::string& ip) {
    return config && std::find(config->addresses.begin(), config->addresses.end(), ip) != config->addresses.end();
  };
  std::lock_guard lock(mutex_);
  std::erase_if(zones_, [&](const auto& z) { return !has_zone(z.first); });
  std::erase_if(answers_, [&](const auto& a) { return !has_zone(a.first.first); });
  std::erase_if(outbound_, [&](const auto& o) { return !has_zone(o.first.first) || !has_address(o.first.second); });
}

void DnsblMemory::clear() {
  std::lock_guard lock(mutex_);
  zones_.clear();
  answers_.clear();
  queries_.clear();
  outbound_.clear();
}

void DnsblMemory::series(std::vector<Series>& out) const {
  std::lock_guard lock(mutex_);
  for (const auto& [zone, z] : zones_)
    if (z.health != ZoneHealth::unknown)
      out.push_back({"smtp_exporter_dnsbl_zone_ok",
                     "Whether the blocklist zone passed its RFC 5782 test (127.0.0.2 listed, 127.0.0.1 not); 0 when "
                     "it failed or could not be tested.",
                     {{"zone", zone}},
                     z.health == ZoneHealth::ok ? 1.0 : 0.0});
  for (const auto& [zone, n] : queries_)
    out.push_back({"smtp_exporter_dnsbl_queries_total", "DNS queries sent to the blocklist zone (A and TXT).",
                   {{"zone", zone}}, n, true});
  for (const auto& [key, r] : outbound_) {
    if (!r.usable()) continue;
    out.push_back({"smtp_exporter_dnsbl_listed",
                   "Whether the configured outbound address is listed on the blocklist zone ([dnsbl] addresses).",
                   {{"zone", key.first}, {"ip", key.second}},
                   r.answer.kind == DnsblAnswer::Kind::listed ? 1.0 : 0.0});
  }
}

DnsblMemory& dnsbl_memory() {
  static DnsblMemory memory;
  return memory;
}

namespace {

struct Asked {
  DnsblAnswer answer;
  std::chrono::seconds ttl{0};
  bool cancelled = false;  // cut short by the deadline: neither cached nor judged
};

// One address in one zone: the A query, then the TXT query when listed.
asio::awaitable<Asked> ask(DnsResolver& resolver, const config::DnsblZone& zone, const asio::ip::address& address,
                           bool want_reason) {
  DnsblMemory& memory = dnsbl_memory();
  const std::string name = dnsbl_query_name(address, zone);
  memory.count_query(zone.name);
  ALookup a = co_await resolver.a(name);
  Asked out{classify_dnsbl_answer(a), a.ttl, a.error == DnsError::cancelled};
  if (out.answer.kind == DnsblAnswer::Kind::listed && want_reason) {
    memory.count_query(zone.name);
    TxtLookup txt = co_await resolver.txt(name);
    out.answer.reason = dnsbl_redacted(dnsbl_reason(txt.texts), zone.key);
  }
  co_return out;
}

// The zone's RFC 5782 §5 test, when it is due.
asio::awaitable<void> test_zone_if_due(DnsResolver& resolver, const config::DnsblZone& zone,
                                       config::Duration min_interval) {
  DnsblMemory& memory = dnsbl_memory();
  if (!memory.health_due(zone.name, min_interval, DnsblMemory::Clock::now())) co_return;
  const asio::ip::address listed = asio::ip::make_address_v4(0x7f000002u);
  const asio::ip::address unlisted = asio::ip::make_address_v4(0x7f000001u);
  Asked test_listed = co_await ask(resolver, zone, listed, false);
  Asked test_unlisted = co_await ask(resolver, zone, unlisted, false);
  std::string detail;
  ZoneHealth health = judge_zone(test_listed.answer, test_unlisted.answer, detail);
  if (test_listed.cancelled || test_unlisted.cancelled) health = ZoneHealth::unknown;
  memory.set_health(zone.name, health, detail);
}

// One zone's answer about `address`: the zone tested if due, the answer
// from the cache or asked.
asio::awaitable<DnsblZoneResult> ask_zone(DnsResolver& resolver, const config::DnsblZone& zone,
                                          const asio::ip::address& address, config::Duration min_interval) {
  DnsblMemory& memory = dnsbl_memory();
  DnsblZoneResult r;
  r.zone = zone.name;
  r.degraded = zone.degraded;
  co_await test_zone_if_due(resolver, zone, min_interval);
  r.health = memory.health(zone.name, r.health_detail);
  const std::string ip = address.to_string();
  if (auto cached = memory.cached(zone.name, ip, DnsblMemory::Clock::now())) {
    r.answer = *cached;
    r.cached = true;
    co_return r;
  }
  Asked asked = co_await ask(resolver, zone, address, true);
  r.answer = asked.answer;
  if (!asked.cancelled)
    memory.remember(zone.name, ip, asked.answer, asked.ttl, min_interval, DnsblMemory::Clock::now());
  co_return r;
}

// Every zone about `address` at once, bounded by `deadline_at`.
asio::awaitable<std::vector<DnsblZoneResult>> ask_zones(const config::DnsblConfig& dnsbl,
                                                        const config::DnsConfig& dns,
                                                        const asio::ip::address& address,
                                                        asio::steady_timer::time_point deadline_at) {
  auto executor = co_await asio::this_coro::executor;
  BoundedResolver bounded(executor, dns, deadline_at);
  DnsResolver& resolver = *bounded.resolver;
  co_return co_await gather<DnsblZoneResult>(
      dnsbl.zones.size(), [&](std::size_t i) { return ask_zone(resolver, dnsbl.zones[i], address, dnsbl.min_interval); });
}

std::atomic<std::uint64_t> background_generation{0};

// The outbound addresses (or, without any, every zone's test) every
// min_interval, until another configuration is put in force.
asio::awaitable<void> refresh(std::shared_ptr<const config::DnsblConfig> dnsbl, config::DnsConfig dns,
                              std::uint64_t generation) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer sleep(executor);
  std::vector<asio::ip::address> addresses;
  for (const auto& text : dnsbl->addresses) addresses.push_back(asio::ip::make_address(text));
  while (generation == background_generation) {
    auto round_end = asio::steady_timer::clock_type::now() + kRoundDeadline;
    if (addresses.empty()) {
      BoundedResolver bounded(executor, dns, round_end);
      DnsResolver& resolver = *bounded.resolver;
      for (const auto& zone : dnsbl->zones) co_await test_zone_if_due(resolver, zone, dnsbl->min_interval);
    }
    for (const auto& address : addresses) {
      std::vector<DnsblZoneResult> results = co_await ask_zones(*dnsbl, dns, address, round_end);
      if (generation != background_generation) co_return;
      for (const auto& r : results) dnsbl_memory().set_outbound(r.zone, address.to_string(), r);
    }
    sleep.expires_after(dnsbl->min_interval);
    boost::system::error_code ec;
    co_await sleep.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

std::string codes_text(const DnsblAnswer& answer) {
  std::string out;
  for (const auto& c : answer.codes) out += (out.empty() ? "" : ", ") + c;
  return out;
}

class Dnsbl final : public Check {
 public:
  std::string_view name() const override { return kName; }

  asio::awaitable<Next> run(CheckContext& context) const override {
    ProbeResult& result = context.result;
    const config::Module& module = context.request.module;
    boost::system::error_code ec;
    auto address = asio::ip::make_address(result.ip, ec);
    if (!module.dnsbl || result.ip.empty() || ec) co_return Next::go_on;  // never connected: nothing to look up
    const config::DnsblConfig& dnsbl = *module.dnsbl;
    const config::DnsConfig& dns = module.dns;
    auto deadline_at = context.deadline.at();
    auto started = std::chrono::steady_clock::now();
    DnsblSection s;
    s.ip = result.ip;
    s.zones = co_await ask_zones(dnsbl, dns, address, deadline_at);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    for (const auto& z : s.zones) {
      std::string what = z.answer.kind == DnsblAnswer::Kind::listed  ? "listed (" + codes_text(z.answer) + ")"
                         : z.answer.kind == DnsblAnswer::Kind::error ? "error: " + z.answer.reason
                                                                     : "not listed";
      if (z.health == ZoneHealth::broken) what += " (zone broken: " + z.health_detail + ")";
      result.log.push_back({std::chrono::system_clock::now(),
                            z.answer.kind == DnsblAnswer::Kind::not_listed ? LogEntry::Kind::info : LogEntry::Kind::error,
                            "DNSBL " + z.zone + ": " + s.ip + " " + what + (z.cached ? " (cached)" : "") + " in " +
                                std::to_string(seconds) + "s"});
    }
    result.sections.insert_or_assign(std::string(kName), std::move(s));
    co_return Next::go_on;
  }

  void series(const ProbeResult& result, std::vector<Series>& out) const override {
    const auto* s = section<DnsblSection>(result, kName);
    if (!s) return;
    int listings = 0;
    for (const auto& z : s->zones) {
      out.push_back({"probe_smtp_dnsbl_error",
                     "Whether the blocklist zone gave no usable answer (a lookup error, an error code such as "
                     "127.255.255.254, or a zone failing its RFC 5782 test).",
                     {{"zone", z.zone}},
                     z.usable() ? 0.0 : 1.0});
      if (!z.usable()) continue;
      bool listed = z.answer.kind == DnsblAnswer::Kind::listed;
      listings += listed ? 1 : 0;
      out.push_back({"probe_smtp_dnsbl_listed", "Whether the address is listed on the blocklist zone.",
                     {{"zone", z.zone}, {"ip", s->ip}}, listed ? 1.0 : 0.0});
      if (listed)
        out.push_back({"probe_smtp_dnsbl_listed_code",
                       "The last octet of the blocklist's answer (127.0.0.X), which names the list or the reason.",
                       {{"zone", z.zone}, {"ip", s->ip}},
                       static_cast<double>(dnsbl_code_value(z.answer))});
    }
    out.push_back({"probe_smtp_dnsbl_listings", "Blocklist zones listing the address (zones with usable answers).",
                   {}, static_cast<double>(listings)});
  }

  // Each zone's answer about the address.
  void report(const ProbeResult& result, const config::Module&, Report& out) const override {
    const auto* s = section<DnsblSection>(result, kName);
    if (!s) return;
    Fact fact{"Blocklists", {}};
    Json zones = Json::array();
    int listings = 0;
    for (const auto& z : s->zones) {
      std::string state = z.health == ZoneHealth::broken                ? "zone broken (" + z.health_detail + ")"
                          : z.answer.kind == DnsblAnswer::Kind::error   ? "no answer (" + z.answer.reason + ")"
                          : z.answer.kind == DnsblAnswer::Kind::listed  ? "LISTED (" + codes_text(z.answer) + ")"
                                                                        : "not listed";
      bool listed = z.usable() && z.answer.kind == DnsblAnswer::Kind::listed;
      listings += listed ? 1 : 0;
      fact.lines.push_back(safe_text(z.zone) + ": " + safe_text(state));
      zones.push_back({{"zone", json_text(z.zone)},
                       {"listed", listed},
                       {"error", !z.usable()},
                       {"detail", json_text(state)}});
    }
    if (fact.lines.empty()) fact.lines.push_back("no zones configured");
    fact.lines.front() = s->ip + " on " + fact.lines.front();
    out.facts.push_back(std::move(fact));
    out.check["dnsbl"] = {{"ip", json_text(s->ip)}, {"listings", listings}, {"zones", std::move(zones)}};
    out.healthz["dnsblListings"] = listings;
  }

  void findings(const ProbeResult& result, const config::Module&, std::vector<Finding>& out) const override {
    const auto* s = section<DnsblSection>(result, kName);
    if (!s) return;
    for (const auto& z : s->zones) {
      if (z.health == ZoneHealth::broken) {
        out.push_back({"dnsbl/zone_broken", Health::degraded,
                       "the blocklist " + z.zone + " fails its self-test: " + z.health_detail +
                           "; its answers are ignored"});
      } else if (z.answer.kind == DnsblAnswer::Kind::error) {
        out.push_back({"dnsbl/zone_error", Health::degraded,
                       "the blocklist " + z.zone + " gave no answer about " + s->ip + ": " + z.answer.reason});
      } else if (z.answer.kind == DnsblAnswer::Kind::listed) {
        out.push_back({"dnsbl/listed", z.degraded ? Health::degraded : Health::unhealthy,
                       s->ip + " is listed on " + z.zone + " (" + codes_text(z.answer) + ")" +
                           (z.answer.reason.empty() ? "" : ": " + z.answer.reason)});
      }
    }
  }

  const std::vector<Remediation>& remediations() const override {
    static const std::vector<Remediation> entries{
        {"dnsbl/listed",
         "The server's address is on a DNS blocklist",
         {"The blocklist saw spam, a spam trap hit, or a virus or open relay/proxy from {address} (or its network): "
          "receivers that use the list refuse its mail.",
          "A dynamic or residential address range is listed as a whole (policy lists such as Spamhaus PBL).",
          "A compromised account or web form sends spam through the server."},
         {"Look the listing up by hand (IPv4 octets reversed): dig +short A REVERSED.ZONE and dig +short TXT "
          "REVERSED.ZONE, e.g. dig +short TXT 2.0.0.127.zen.spamhaus.org for the test entry; for IPv6 the 32 "
          "nibbles reversed.",
          "Find and stop the cause first: the MTA's queue and logs (Postfix: mailq, journalctl -u postfix), "
          "authenticated senders with unusual volume, web forms, open relay tests.",
          "Then ask for delisting on the list's own site (the TXT record usually links to it); most lists delist "
          "automatically after a quiet period, some after a form, policy lists after a statement that the address "
          "sends mail as a server.",
          "Check the outbound addresses in [dnsbl] addresses too: the address receivers see may differ from "
          "{address}."},
         {"The exporter runs in a container: the address the lists see is the host's or the NAT gateway's; list "
          "it in [dnsbl] addresses."},
         {"Mail leaves through the node's or the NAT gateway's address: list that address in [dnsbl] addresses."}},
        {"dnsbl/zone_error",
         "A blocklist gave no usable answer",
         {"The list refuses queries through public or shared resolvers (Spamhaus answers 127.255.255.254, and "
          "127.255.255.255 when the resolver sends too many queries): the answer is an error code, not a listing.",
          "The zone name or the DQS key is wrong (Spamhaus: 127.255.255.252).",
          "The resolver is unreachable or times out, or rewrites NXDOMAIN answers (an answer outside 127.0.0.0/8)."},
         {"Use your own resolver (e.g. a local unbound) for the blocklist queries: [dns] servers or the module's "
          "dns_servers; not 8.8.8.8, 1.1.1.1 or a provider's shared resolver.",
          "For Spamhaus, register for a free Data Query Service key and configure the zone as zen.dq.spamhaus.net "
          "with key_file or key_env in [dnsbl.zone.\"zen.dq.spamhaus.net\"].",
          "Ask the list by hand through the same resolver: dig +short A 2.0.0.127.ZONE @RESOLVER must answer "
          "127.0.0.2."},
         {"A container resolves through Docker's embedded resolver and the host's upstream: point dns_servers at "
          "a resolver of your own."},
         {"CoreDNS forwards to the cloud's shared resolver: point dns_servers at a resolver of your own (an "
          "unbound Deployment or DaemonSet)."}},
        {"dnsbl/zone_broken",
         "A blocklist fails its RFC 5782 self-test",
         {"The zone no longer lists its test entry 127.0.0.2 (the list was shut down, renamed, or answers "
          "nothing), or it lists 127.0.0.1 and so everything (some dead lists were turned into list-everything "
          "zones to make their users stop)."},
         {"Check by hand: dig +short A 2.0.0.127.ZONE must answer 127.0.0.2; dig +short A 1.0.0.127.ZONE must "
          "answer nothing.",
          "Remove the zone from [dnsbl] zones, or replace it with the list's new name; its answers are ignored "
          "meanwhile."},
         {},
         {}},
    };
    return entries;
  }

  void process_series(std::vector<Series>& out) const override { dnsbl_memory().series(out); }

  void start(const asio::any_io_executor& executor, const config::Config& config) const override {
    std::uint64_t generation = ++background_generation;
    dnsbl_memory().retain(config.dnsbl.get());
    if (!config.dnsbl) return;
    asio::co_spawn(asio::make_strand(executor), refresh(config.dnsbl, config.dns, generation), asio::detached);
  }
};

}  // namespace

const Check& dnsbl_check() {
  static const Dnsbl unit;
  return unit;
}

}  // namespace smtp_exporter::probes
