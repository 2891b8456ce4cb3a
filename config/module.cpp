// One [modules.NAME] table: its keys, their checks, and its TOML rendering.
#include <sstream>

#include "module_reader.h"
#include "table_reader.h"

namespace smtp_exporter::config {
namespace {

// Hostname-ish check for ehlo_name: what RFC 5321 allows as a domain or an
// address literal, and never a character that could break the command line.
bool valid_ehlo_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '.' || c == '-' || c == '_' || c == '[' || c == ']' || c == ':'))
      return false;
  }
  return true;
}

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

constexpr std::pair<std::string_view, TlsMode> kTlsModes[] = {{"none", TlsMode::none}};
constexpr std::pair<std::string_view, IpProtocol> kIpProtocols[] = {{"ip4", IpProtocol::ip4},
                                                                     {"ip6", IpProtocol::ip6}};

}  // namespace

std::string_view to_string(TlsMode mode) {
  for (const auto& [name, m] : kTlsModes)
    if (m == mode) return name;
  return "unknown";
}

std::string_view to_string(IpProtocol protocol) {
  for (const auto& [name, p] : kIpProtocols)
    if (p == protocol) return name;
  return "unknown";
}

Module read_module(const toml::table& table, const std::string& path, const std::string& file) {
  TableReader reader(table, path, file);
  Module m;
  if (auto port = reader.integer("port")) {
    if (*port < 1 || *port > 65535) reader.fail("port", "must be between 1 and 65535");
    m.port = static_cast<std::uint16_t>(*port);
  }
  if (auto tls = reader.string("tls")) m.tls = parse_enum(reader, "tls", *tls, kTlsModes);
  if (auto timeout = reader.string("timeout")) {
    auto d = parse_duration(*timeout);
    if (!d) reader.fail("timeout", "invalid duration \"" + *timeout + "\" (use e.g. \"500ms\", \"10s\", \"1m\")");
    if (*d <= Duration::zero()) reader.fail("timeout", "must be greater than 0");
    m.timeout = *d;
  }
  if (auto name = reader.string("ehlo_name")) {
    if (!valid_ehlo_name(*name))
      reader.fail("ehlo_name", "must be a host name or address literal (letters, digits, '.', '-', '_', '[', ']', ':')");
    m.ehlo_name = *name;
  }
  if (auto code = reader.integer("expect_banner_code")) {
    if (*code < 200 || *code > 599) reader.fail("expect_banner_code", "must be an SMTP reply code (200-599)");
    m.expect_banner_code = static_cast<int>(*code);
  }
  if (auto protocol = reader.string("ip_protocol"))
    m.ip_protocol = parse_enum(reader, "ip_protocol", *protocol, kIpProtocols);
  if (auto fallback = reader.boolean("ip_protocol_fallback")) m.ip_protocol_fallback = *fallback;
  reader.finish();
  return m;
}

std::string to_toml(const Config& config) {
  std::string out = "# source: " + config.source + "\n";
  for (const auto& [name, module] : config.modules) out += "\n" + to_toml(name, module);
  return out;
}

std::string to_toml(const std::string& name, const Module& m) {
  std::ostringstream out;
  out << "[modules." << name << "]\n"
        << "port = " << m.port << "\n"
        << "tls = \"" << to_string(m.tls) << "\"\n"
        << "timeout = \"" << format_duration(m.timeout) << "\"\n"
        << "ehlo_name = \"" << m.ehlo_name << "\"\n"
        << "expect_banner_code = " << m.expect_banner_code << "\n"
        << "ip_protocol = \"" << to_string(m.ip_protocol) << "\"\n"
        << "ip_protocol_fallback = " << (m.ip_protocol_fallback ? "true" : "false") << "\n";
  return out.str();
}

}  // namespace smtp_exporter::config
