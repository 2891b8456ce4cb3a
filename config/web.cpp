// [web]: allowed_targets, the list of what /probe may be asked to probe.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "table_reader.h"
#include "toml_writer.h"
#include "web_reader.h"

namespace smtp_exporter::config {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool in_network(const AllowedTarget& net, const std::array<unsigned char, 16>& address) {
  int bits = net.prefix;
  for (std::size_t i = 0; bits > 0; ++i, bits -= 8) {
    unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
    if ((net.address[i] & mask) != (address[i] & mask)) return false;
  }
  return true;
}

std::string without_trailing_dot(std::string name) {
  if (name.size() > 1 && name.back() == '.') name.pop_back();
  return name;
}

}  // namespace

// Letters, digits, '-' and '_' in dot-separated labels of 1 to 63 characters.
bool valid_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
    if (++label > 63) return false;
  }
  return label > 0;
}

// An IPv4 or IPv6 literal (no brackets, no zone) into `out`; false otherwise.
bool parse_address(std::string_view text, std::array<unsigned char, 16>& out, bool& ipv6) {
  std::string s(text);
  out = {};
  if (inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
    ipv6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) {
    ipv6 = true;
    return true;
  }
  return false;
}

std::optional<AllowedTarget> parse_allowed_target(std::string_view text, std::string& error) {
  AllowedTarget t;
  t.text = std::string(text);
  auto quoted = "\"" + t.text + "\"";
  if (text.empty()) {
    error = "empty entry (write a host name, \"*.DOMAIN\", an IP address or a network such as \"192.0.2.0/24\")";
    return std::nullopt;
  }
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    t.kind = AllowedTarget::Kind::network;
    if (!parse_address(text.substr(0, slash), t.address, t.ipv6)) {
      error = quoted + " is not a network: \"" + std::string(text.substr(0, slash)) + "\" is not an IP address";
      return std::nullopt;
    }
    std::string_view length = text.substr(slash + 1);
    int max = t.ipv6 ? 128 : 32;
    bool digits = !length.empty() && length.size() <= 3 &&
                  std::all_of(length.begin(), length.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoi(std::string(length)) > max) {
      error = quoted + " is not a network: the prefix length must be a number from 0 to " + std::to_string(max);
      return std::nullopt;
    }
    t.prefix = std::stoi(std::string(length));
    std::array<unsigned char, 16> masked{};
    for (int bit = 0; bit < t.prefix; ++bit)
      if (t.address[bit / 8] & (0x80u >> (bit % 8))) masked[bit / 8] |= static_cast<unsigned char>(0x80u >> (bit % 8));
    if (masked != t.address) {
      char buffer[INET6_ADDRSTRLEN] = {};
      inet_ntop(t.ipv6 ? AF_INET6 : AF_INET, masked.data(), buffer, sizeof buffer);
      error = quoted + " has host bits set (the network is " + buffer + "/" + std::to_string(t.prefix) + ")";
      return std::nullopt;
    }
    return t;
  }
  if (parse_address(text, t.address, t.ipv6)) {
    t.kind = AllowedTarget::Kind::network;
    t.prefix = t.ipv6 ? 128 : 32;
    return t;
  }
  std::string name = without_trailing_dot(lower(text));
  if (name.starts_with("*.")) {
    t.kind = AllowedTarget::Kind::wildcard;
    name = name.substr(1);  // ".example.org"
    if (!valid_host_name(std::string_view(name).substr(1))) {
      error = quoted + " is not a wildcard: write \"*.\" followed by a domain name";
      return std::nullopt;
    }
  } else if (!valid_host_name(name)) {
    error = quoted +
            " is neither a host name, a \"*.DOMAIN\" wildcard, an IP address nor a network such as "
            "\"192.0.2.0/24\"";
    return std::nullopt;
  }
  t.name = std::move(name);
  return t;
}

bool target_allowed(const WebSettings& web, std::string_view host) {
  if (web.allowed_targets.empty()) return true;
  std::array<unsigned char, 16> address{};
  bool ipv6 = false;
  if (parse_address(host, address, ipv6)) {
    for (const auto& t : web.allowed_targets)
      if (t.kind == AllowedTarget::Kind::network && t.ipv6 == ipv6 && in_network(t, address)) return true;
    return false;
  }
  const std::string name = without_trailing_dot(lower(host));
  for (const auto& t : web.allowed_targets) {
    if (t.kind == AllowedTarget::Kind::name && t.name == name) return true;
    if (t.kind == AllowedTarget::Kind::wildcard && name.size() > t.name.size() && name.ends_with(t.name))
      return true;
  }
  return false;
}

std::string to_toml(const WebSettings& web) {
  if (web.allowed_targets.empty()) return "";
  toml::array list;
  for (const auto& t : web.allowed_targets) list.push_back(t.text);
  return toml_text(toml::table{{"web", toml::table{{"allowed_targets", std::move(list)}}}});
}

WebSettings read_web(const toml::table& table, const std::string& file) {
  TableReader reader(table, "web", file);
  WebSettings web;
  // Read element by element, so that an error points at the bad entry.
  reader.strings("allowed_targets");  // type check: an array of strings
  if (const toml::array* list = table.get_as<toml::array>("allowed_targets")) {
    for (const auto& element : *list) {
      std::string error;
      auto target = parse_allowed_target(*element.value_exact<std::string>(), error);
      if (!target) {
        const auto& where = element.source().begin;
        throw ConfigError(file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
                          ": web.allowed_targets: " + error);
      }
      web.allowed_targets.push_back(std::move(*target));
    }
  }
  reader.finish();
  return web;
}

}  // namespace smtp_exporter::config
