// TOML → Config, with validation. Each error names the file, line, column and
// the dotted key, so an operator can fix the config without guessing.
#include <fstream>
#include <sstream>

#include "module_reader.h"
#include "table_reader.h"

namespace smtp_exporter::config {
namespace {

bool valid_module_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

Config from_table(const toml::table& root, const std::string& source) {
  Config config;
  config.source = source;
  TableReader top(root, "", source);
  if (const toml::table* dns = top.table("dns")) {
    TableReader dns_reader(*dns, "dns", source);
    config.dns = read_dns(dns_reader, {}, "servers", "timeout", "tries");
    dns_reader.finish();
  }
  if (const toml::table* modules = top.table("modules")) {
    TableReader modules_reader(*modules, "modules", source);
    for (const auto& [name, node] : *modules) {
      std::string key(name.str());
      if (!valid_module_name(key))
        modules_reader.fail(key, "module names may use only letters, digits, '_' and '-' (at most 64)");
      const toml::table* table = modules_reader.table(key);
      config.modules.emplace(key, read_module(*table, "modules." + key, source, config.dns));
    }
    modules_reader.finish();
  }
  top.finish();
  if (config.modules.empty())
    throw ConfigError(source + ":1:1: modules: no module defined (add a [modules.NAME] table)");
  return config;
}

}  // namespace

Config load_string(std::string_view text, const std::string& source) {
  try {
    toml::table root = toml::parse(text, source);
    return from_table(root, source);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw ConfigError(source + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
                      ": " + std::string(e.description()));
  }
}

Config load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read: " + std::strerror(errno));
  return load_string(text.str(), path);
}

}  // namespace smtp_exporter::config
