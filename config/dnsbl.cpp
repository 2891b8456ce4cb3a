// [dnsbl]: the DNS blocklists of the `dnsbl` unit (docs/dnsbl.md).
//
//   [dnsbl]
//   zones = ["zen.dq.spamhaus.net", "bl.spamcop.net"]
//   addresses = ["192.0.2.25"]      # outbound addresses, listed on /metrics
//   min_interval = "5m"
//   [dnsbl.zone."zen.dq.spamhaus.net"]
//   key_env = "SPAMHAUS_DQS_KEY"    # or key_file; never shown
//   severity = "unhealthy"          # or "degraded"
#include <algorithm>
#include <cctype>

#include "module_reader.h"
#include "table_reader.h"
#include "toml_writer.h"
#include "web_reader.h"

namespace smtp_exporter::config {
namespace {

std::string zone_name(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.size() > 1 && out.back() == '.') out.pop_back();
  return out;
}

// A DQS key goes into the query name as one label.
bool valid_key(std::string_view key) {
  return !key.empty() && key.size() <= 63 &&
         std::all_of(key.begin(), key.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; });
}

void read_zone_options(const toml::table& table, const std::string& path, const std::string& file, DnsblZone& zone) {
  TableReader reader(table, path, file);
  Secret key = read_secret(reader, "key_file", "key_env", "key", false);
  if (!key.file.empty() || !key.env.empty()) {
    std::string_view where = key.file.empty() ? "key_env" : "key_file";
    if (!valid_key(key.value))
      reader.fail(where, "the key must be one DNS label (letters, digits and '-', 1 to 63 characters); it is not shown");
  }
  zone.key_file = std::move(key.file);
  zone.key_env = std::move(key.env);
  zone.key = std::move(key.value);
  if (auto severity = reader.string("severity")) {
    if (*severity != "degraded" && *severity != "unhealthy")
      reader.fail("severity", "invalid value \"" + *severity + "\" (expected one of: degraded, unhealthy)");
    zone.degraded = *severity == "degraded";
  }
  reader.finish();
}

}  // namespace

DnsblConfig read_dnsbl(const toml::table& table, const std::string& file) {
  TableReader reader(table, "dnsbl", file);
  DnsblConfig dnsbl;
  auto zones = reader.strings("zones");
  if (!zones || zones->empty())
    reader.fail(zones ? "zones" : "", "zones must list at least one blocklist zone (there is no default list)");
  for (const auto& text : *zones) {
    std::string name = zone_name(text);
    if (!valid_host_name(name)) reader.fail("zones", "\"" + text + "\" is not a DNS zone name");
    if (std::any_of(dnsbl.zones.begin(), dnsbl.zones.end(), [&](const DnsblZone& z) { return z.name == name; }))
      reader.fail("zones", "zone \"" + name + "\" listed twice");
    dnsbl.zones.push_back({name, "", "", "", false});
  }
  if (const toml::table* options = reader.table("zone")) {
    TableReader options_reader(*options, "dnsbl.zone", file);
    for (const auto& [key, node] : *options) {
      std::string name(key.str());
      auto zone = std::find_if(dnsbl.zones.begin(), dnsbl.zones.end(),
                               [&](const DnsblZone& z) { return z.name == zone_name(name); });
      if (zone == dnsbl.zones.end()) options_reader.fail(name, "not one of dnsbl.zones");
      const toml::table* options_table = options_reader.table(name);
      read_zone_options(*options_table, "dnsbl.zone." + toml_key(name), file, *zone);
    }
    options_reader.finish();
  }
  if (auto addresses = reader.strings("addresses")) {
    for (const auto& text : *addresses) {
      std::array<unsigned char, 16> bytes{};
      bool ipv6 = false;
      if (!parse_address(text, bytes, ipv6)) reader.fail("addresses", "\"" + text + "\" is not an IP address");
      if (std::find(dnsbl.addresses.begin(), dnsbl.addresses.end(), text) != dnsbl.addresses.end())
        reader.fail("addresses", "address \"" + text + "\" listed twice");
      dnsbl.addresses.push_back(text);
    }
  }
  if (auto interval = reader.string("min_interval")) {
    auto d = parse_duration(*interval);
    if (!d || *d < std::chrono::seconds(1))
      reader.fail("min_interval", "invalid duration \"" + *interval + "\" (at least 1s, e.g. \"5m\")");
    dnsbl.min_interval = *d;
  }
  reader.finish();
  return dnsbl;
}

std::string to_toml(const DnsblConfig& dnsbl) {
  toml::array zones;
  for (const auto& z : dnsbl.zones) zones.push_back(z.name);
  toml::array addresses;
  for (const auto& a : dnsbl.addresses) addresses.push_back(a);
  toml::table options;
  for (const auto& z : dnsbl.zones) {
    toml::table zone{{"severity", z.degraded ? "degraded" : "unhealthy"}};
    // Where the key comes from, never the key.
    if (!z.key_file.empty()) zone.insert("key_file", z.key_file);
    if (!z.key_env.empty()) zone.insert("key_env", z.key_env);
    options.insert(z.name, std::move(zone));
  }
  return toml_text(toml::table{{"dnsbl", toml::table{{"zones", std::move(zones)},
                                                     {"addresses", std::move(addresses)},
                                                     {"min_interval", format_duration(dnsbl.min_interval)},
                                                     {"zone", std::move(options)}}}});
}

}  // namespace smtp_exporter::config
