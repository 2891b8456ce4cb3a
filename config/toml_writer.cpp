#include "toml_writer.h"

#include <cstdio>
#include <sstream>

namespace smtp_exporter::config {

std::string toml_text(const toml::table& table, bool escaped) {
  constexpr auto kEscaped = toml::toml_formatter::default_flags & ~toml::format_flags::allow_literal_strings &
                            ~toml::format_flags::allow_multi_line_strings &
                            ~toml::format_flags::allow_real_tabs_in_strings;
  std::ostringstream out;
  if (escaped) {
    out << toml::toml_formatter{table, kEscaped} << "\n";
  } else {
    out << table << "\n";
  }
  return out.str();
}

std::string toml_key(std::string_view key) {
  auto bare = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  };
  bool is_bare = !key.empty();
  for (char c : key) is_bare = is_bare && bare(c);
  if (is_bare) return std::string(key);
  std::string out = "\"";
  for (char c : key) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04X", u);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace smtp_exporter::config
