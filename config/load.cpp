// TOML → Config, with validation. Each error names the file, line, column and
// the dotted key, so an operator can fix the config without guessing.
#include <fstream>
#include <sstream>

#include "module_reader.h"
#include "table_reader.h"
#include "web_reader.h"

namespace smtp_exporter::config {
namespace {

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__") || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

// One [[targets]] table; modules must be read first (it names one).
ScheduledTarget read_target(const toml::table& table, const std::string& path, const std::string& file,
                            const Config& config) {
  TableReader reader(table, path, file);
  ScheduledTarget t;
  auto name = reader.string("name");
  if (!name || name->empty()) reader.fail(name ? "name" : "", "a target needs a non-empty name");
  t.name = *name;
  for (const auto& other : config.targets)
    if (other.name == t.name) reader.fail("name", "duplicate target name \"" + t.name + "\"");
  auto target = reader.string("target");
  if (!target || target->empty()) reader.fail(target ? "target" : "", "a target needs a non-empty target");
  t.target = *target;
  const auto& where = table.get("target")->source().begin;
  t.where = file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
  t.module = reader.string("module").value_or("smtp_banner");
  if (!config.modules.contains(t.module)) reader.fail("module", "unknown module \"" + t.module + "\"");
  if (auto interval = reader.string("interval")) {
    auto d = parse_duration(*interval);
    if (!d || *d < std::chrono::seconds(1))
      reader.fail("interval", "invalid interval \"" + *interval + "\" (a duration of at least 1s, e.g. \"30s\")");
    t.interval = *d;
  }
  if (auto tags = reader.strings("tags")) {
    for (const auto& tag : *tags)
      if (tag.empty()) reader.fail("tags", "tags must not be empty strings");
    t.tags = *tags;
  }
  t.description = reader.string("description").value_or("");
  if (const toml::table* labels = reader.table("labels")) {
    TableReader label_reader(*labels, path + ".labels", file);
    for (const auto& [key, value] : *labels) {
      std::string label(key.str());
      if (!valid_label_name(label) || label == "target_name")
        label_reader.fail(label, "not a usable Prometheus label name (reserved: target_name, __*)");
      auto text = label_reader.string(label);
      t.labels.emplace(label, *text);
    }
    label_reader.finish();
  }
  reader.finish();
  return t;
}

bool valid_module_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

Config from_table(const toml::table& root, const std::string& source, Secrets secrets) {
  Config config;
  config.source = source;
  TableReader top(root, "", source);
  if (const toml::table* dns = top.table("dns")) {
    TableReader dns_reader(*dns, "dns", source);
    config.dns = read_dns(dns_reader, {}, "servers", "timeout", "tries");
    // Relative to the config file's directory, as every other path.
    config.dns.trust_anchor_file = readable_file(dns_reader, "trust_anchor_file", source);
    dns_reader.finish();
  }
  if (const toml::table* dnsbl = top.table("dnsbl"))
    config.dnsbl = std::make_shared<const DnsblConfig>(read_dnsbl(*dnsbl, source));
  if (const toml::table* modules = top.table("modules")) {
    TableReader modules_reader(*modules, "modules", source);
    for (const auto& [name, node] : *modules) {
      std::string key(name.str());
      if (!valid_module_name(key))
        modules_reader.fail(key, "module names may use only letters, digits, '_' and '-' (at most 64)");
      const toml::table* table = modules_reader.table(key);
      Module module = read_module(*table, "modules." + key, source, config.dns, secrets);
      if (module.checks.contains("dnsbl") && !config.dnsbl)
        TableReader(*table, "modules." + key, source)
            .fail("dnsbl", "needs the blocklists to ask: add a [dnsbl] table with zones (docs/dnsbl.md)");
      if (module.checks.contains("dane") && module.tls != TlsMode::starttls &&
          module.tls != TlsMode::implicit)
        TableReader(*table, "modules." + key, source)
            .fail("dane", "needs TLS: set tls = \"starttls\" or \"implicit\" (docs/dane.md)");
      module.dnsbl = config.dnsbl;
      config.modules.emplace(key, std::move(module));
    }
    modules_reader.finish();
  }
  if (const toml::node* targets = root.get("targets")) {
    top.mark_read("targets");
    const toml::array* list = targets->as_array();
    if (!list || !list->is_array_of_tables()) top.fail("targets", "expected [[targets]] tables");
    for (std::size_t i = 0; i < list->size(); ++i)
      config.targets.push_back(
          read_target(*list->get(i)->as_table(), "targets[" + std::to_string(i) + "]", source, config));
  }
  if (const toml::table* web = top.table("web")) config.web = read_web(*web, source);
  if (const toml::table* limits = top.table("limits")) config.limits = read_limits(*limits, source);
  top.finish();
  if (config.modules.empty())
    throw ConfigError(source + ":1:1: modules: no module defined (add a [modules.NAME] table)");
  return config;
}

}  // namespace

Config load_string(std::string_view text, const std::string& source, Secrets secrets) {
  try {
    toml::table root = toml::parse(text, source);
    return from_table(root, source, secrets);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw ConfigError(source + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
                      ": " + std::string(e.description()));
  }
}

Config load_file(const std::string& path, Secrets secrets) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read: " + std::strerror(errno));
  return load_string(text.str(), path, secrets);
}

}  // namespace smtp_exporter::config
