#include "mta_sts_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace smtp_exporter::probes {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// RFC 5321 Domain: labels of letters, digits and '-', not starting or ending
// with '-', 1-63 bytes, at most 253 bytes in all.
bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = d.find('.', start);
    std::string_view label = d.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    if (!std::all_of(label.begin(), label.end(), [](char c) { return alnum(c) || c == '-'; })) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_ip_address(std::string_view s) {
  std::string text(s);
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

std::string without_dot(std::string_view s) {
  std::string out = lower(s);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

// The "name=value" fields of a TXT record separated by ';' (RFC 8461 §3.1,
// RFC 8460 §3 share this shape); nullopt when a field has no '='.
struct Field {
  std::string name;
  std::string value;
};
std::optional<std::vector<Field>> split_fields(std::string_view text) {
  std::vector<Field> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t semi = text.find(';', start);
    std::string_view part = trim(text.substr(start, semi == std::string_view::npos ? std::string_view::npos : semi - start));
    if (!part.empty()) {
      std::size_t eq = part.find('=');
      if (eq == std::string_view::npos || eq == 0) return std::nullopt;
      out.push_back({std::string(trim(part.substr(0, eq))), std::string(trim(part.substr(eq + 1)))});
    } else if (semi != std::string_view::npos && out.empty()) {
      return std::nullopt;  // a leading ';'
    }
    if (semi == std::string_view::npos) break;
    start = semi + 1;
  }
  return out;
}

// Records starting with `version` ("v=STSv1"): the version field exactly,
// then ';' or the end (so "v=STSv10" is not one).
bool starts_with_version(std::string_view text, std::string_view version) {
  if (!text.starts_with(version)) return false;
  std::string_view rest = text.substr(version.size());
  rest = trim(rest);
  return rest.empty() || rest.front() == ';';
}

}  // namespace

std::string_view to_string(StsMode mode) {
  switch (mode) {
    case StsMode::none: return "none";
    case StsMode::testing: return "testing";
    case StsMode::enforce: return "enforce";
  }
  return "none";
}

std::string sts_printable(std::string_view text, std::size_t max) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : text) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

bool valid_mx_pattern(std::string_view pattern) {
  std::string_view name = pattern;
  if (name.starts_with("*.")) name.remove_prefix(2);
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (is_ip_address(pattern) || is_ip_address(name)) return false;
  if (name.find_first_of("[]:") != std::string_view::npos) return false;
  return valid_domain(name);
}

bool mx_pattern_matches(std::string_view pattern, std::string_view host) {
  std::string p = without_dot(pattern);
  std::string h = without_dot(host);
  if (p.empty() || h.empty()) return false;
  if (p.starts_with("*.")) {
    // "*.example.com": one label, then ".example.com" (not "example.com", not "a.b.example.com").
    std::string suffix = p.substr(1);
    if (h.size() <= suffix.size() || !h.ends_with(suffix)) return false;
    std::string_view label(h.data(), h.size() - suffix.size());
    return label.find('.') == std::string_view::npos;
  }
  return p == h;
}

std::optional<std::string> matching_pattern(const std::vector<std::string>& patterns, std::string_view host) {
  for (const auto& p : patterns)
    if (mx_pattern_matches(p, host)) return p;
  return std::nullopt;
}

StsPolicy parse_sts_policy(std::string_view body) {
  StsPolicy policy;
  std::optional<std::string> version;
  int versions = 0, modes = 0, max_ages = 0;
  std::size_t start = 0;
  int line_no = 0;
  while (start < body.size()) {
    std::size_t lf = body.find('\n', start);
    std::string_view line = body.substr(start, lf == std::string_view::npos ? std::string_view::npos : lf - start);
    start = lf == std::string_view::npos ? body.size() : lf + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;
    std::string where = "line " + std::to_string(line_no) + ": ";
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      policy.errors.push_back(where + "no ':' in \"" + sts_printable(line) + "\"");
      continue;
    }
    std::string key(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (key == "version") {
      ++versions;
      version = std::string(value);
    } else if (key == "mode") {
      ++modes;
      if (value == "enforce") policy.mode = StsMode::enforce;
      else if (value == "testing") policy.mode = StsMode::testing;
      else if (value == "none") policy.mode = StsMode::none;
      else policy.errors.push_back(where + "mode \"" + sts_printable(value) + "\" is not enforce, testing or none");
    } else if (key == "max_age") {
      ++max_ages;
      bool digits = !value.empty() && value.size() <= 10 &&
                    std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
      std::int64_t n = digits ? std::stoll(std::string(value)) : -1;
      if (!digits || n > kStsMaxAgeLimit)
        policy.errors.push_back(where + "max_age \"" + sts_printable(value) + "\" is not a number from 0 to 31557600");
      else
        policy.max_age = n;
    } else if (key == "mx") {
      if (valid_mx_pattern(value))
        policy.mx.emplace_back(value);
      else
        policy.errors.push_back(where + "mx \"" + sts_printable(value) +
                                "\" is not a host name or \"*.\" and a domain (an IP address is not a pattern)");
    } else {
      std::string shown = sts_printable(key, 40);
      if (std::find(policy.unknown_keys.begin(), policy.unknown_keys.end(), shown) == policy.unknown_keys.end())
        policy.unknown_keys.push_back(shown);
    }
  }
  if (versions == 0) policy.errors.push_back("no version line");
  else if (*version != "STSv1") policy.errors.push_back("version \"" + sts_printable(*version) + "\" is not STSv1");
  if (versions > 1) policy.errors.push_back("version given " + std::to_string(versions) + " times");
  if (modes == 0) policy.errors.push_back("no mode line");
  if (modes > 1) policy.errors.push_back("mode given " + std::to_string(modes) + " times");
  if (max_ages == 0) policy.errors.push_back("no max_age line");
  if (max_ages > 1) policy.errors.push_back("max_age given " + std::to_string(max_ages) + " times");
  if (policy.mode && *policy.mode != StsMode::none && policy.mx.empty())
    policy.errors.push_back("no valid mx line (required unless mode is none)");
  return policy;
}

StsRecord parse_sts_record(const std::vector<std::string>& texts) {
  StsRecord out;
  const std::string* record = nullptr;
  for (const auto& t : texts)
    if (starts_with_version(t, "v=STSv1")) {
      ++out.records;
      record = &t;
    }
  if (out.records == 0) {
    out.error = "no TXT record starting with v=STSv1";
    return out;
  }
  if (out.records > 1) {
    out.error = std::to_string(out.records) + " TXT records start with v=STSv1 (senders then assume no policy)";
    return out;
  }
  auto fields = split_fields(*record);
  if (!fields) {
    out.error = "malformed record \"" + sts_printable(*record) + "\"";
    return out;
  }
  int ids = 0;
  for (const auto& f : *fields) {
    if (f.name != "id") continue;
    ++ids;
    bool ok = !f.value.empty() && f.value.size() <= 32 && std::all_of(f.value.begin(), f.value.end(), alnum);
    if (!ok) {
      out.error = "id \"" + sts_printable(f.value) + "\" is not 1 to 32 letters and digits";
      return out;
    }
    out.id = f.value;
  }
  if (ids != 1) {
    out.error = ids == 0 ? "no id= field" : "id= given " + std::to_string(ids) + " times";
    out.id.clear();
  }
  return out;
}

TlsRptRecord parse_tlsrpt_record(const std::vector<std::string>& texts) {
  TlsRptRecord out;
  const std::string* record = nullptr;
  for (const auto& t : texts)
    if (starts_with_version(t, "v=TLSRPTv1")) {
      ++out.records;
      record = &t;
    }
  if (out.records == 0) {
    out.error = "no TXT record starting with v=TLSRPTv1";
    return out;
  }
  if (out.records > 1) {
    out.error = std::to_string(out.records) + " TXT records start with v=TLSRPTv1";
    return out;
  }
  auto fields = split_fields(*record);
  if (!fields) {
    out.error = "malformed record \"" + sts_printable(*record) + "\"";
    return out;
  }
  int ruas = 0;
  for (const auto& f : *fields) {
    if (f.name != "rua") continue;
    ++ruas;
    std::size_t start = 0;
    const std::string& v = f.value;
    while (start <= v.size()) {
      std::size_t comma = v.find(',', start);
      std::string uri(trim(std::string_view(v).substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
      std::string scheme = lower(uri.substr(0, uri.find(':') == std::string::npos ? 0 : uri.find(':') + 1));
      bool ok = (scheme == "mailto:" || scheme == "https:") && uri.size() > scheme.size() &&
                std::all_of(uri.begin(), uri.end(), [](char c) { return c > 0x20 && c < 0x7f && c != ';'; });
      if (!ok) {
        out.error = "rua URI \"" + sts_printable(uri) + "\" is not a mailto: or https: URI";
        out.rua.clear();
        return out;
      }
      out.rua.push_back(uri);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (ruas != 1) {
    out.error = ruas == 0 ? "no rua= field" : "rua= given " + std::to_string(ruas) + " times";
    out.rua.clear();
  }
  return out;
}

}  // namespace smtp_exporter::probes
