#pragma once

#include <toml++/toml.h>

#include "smtp_exporter/config.h"
#include "table_reader.h"

namespace smtp_exporter::config {

// The enum named by `value` among `choices`; else a ConfigError at `key`
// listing the choices.
template <typename Enum, std::size_t N>
Enum parse_enum(TableReader& reader, std::string_view key, const std::string& value,
                const std::pair<std::string_view, Enum> (&choices)[N]) {
  std::string allowed;
  for (const auto& [name, e] : choices) {
    if (value == name) return e;
    allowed += allowed.empty() ? "" : ", ";
    allowed += name;
  }
  reader.fail(key, "invalid value \"" + value + "\" (expected one of: " + allowed + ")");
}

// Reads and validates one [modules.NAME] table; throws ConfigError.
Module read_module(const toml::table& table, const std::string& path, const std::string& file,
                   const DnsConfig& dns_defaults, Secrets secrets = Secrets::required);

// Reads the dns settings of `reader`'s table under the given key names,
// starting from `defaults`.
DnsConfig read_dns(TableReader& reader, DnsConfig defaults, std::string_view servers_key,
                   std::string_view timeout_key, std::string_view tries_key);

// A path that must name a readable file, relative to the config file's
// directory; a ConfigError at `key` otherwise. "" when `key` is absent.
std::string readable_file(TableReader& reader, std::string_view key, const std::string& config_file);

// A secret given as a file or as an environment variable's name (exactly one
// of `file_key` and `env_key`; both absent is an error when `required`). The
// value is never part of an error message.
struct Secret {
  std::string file;   // as resolved (relative to the config file)
  std::string env;
  std::string value;  // the secret itself; empty when absent
  // Secrets::when_used and the variable unset: the error loading would have
  // thrown, for the one command that uses the secret to report.
  std::string error;
};
Secret read_secret(TableReader& reader, std::string_view file_key, std::string_view env_key, std::string_view what,
                   bool required, Secrets secrets = Secrets::required);

// `username` (required: `missing` is the message) and its password
// (`password_file` or `password_env`, required) into `login`.
void read_credentials(TableReader& reader, Credentials& login, Secrets secrets, const std::string& missing);
// The keys of a login as to_toml writes them: the user name and where the
// password comes from, never the password nor anything derived from it.
void insert_credentials(toml::table& table, const Credentials& login);

// Reads and validates [dnsbl] (config/dnsbl.cpp). Throws ConfigError.
DnsblConfig read_dnsbl(const toml::table& table, const std::string& file);

// [modules.NAME.tls_config] and its like ([receive.tls_config]).
TlsConfig read_tls_config(const toml::table& table, const std::string& path, const std::string& file);
// The keys of a TlsConfig as a TOML table (to_toml).
toml::table tls_config_table(const TlsConfig& tls);

// Reads and validates [modules.NAME.receive] (config/receive.cpp). Throws ConfigError.
ReceiveConfig read_receive(const toml::table& table, const std::string& path, const std::string& file,
                           Secrets secrets);
// [modules.NAME.receive] as TOML lines under its section header; never the password.
std::string receive_to_toml(const std::string& module_name, const ReceiveConfig& receive);

// quit_after and expect_code, checked against the steps `module` has (read
// its tls, auth and send first).
void read_steps(TableReader& reader, Module& module);
void steps_to_toml(const Module& module, toml::table& table);

}  // namespace smtp_exporter::config
