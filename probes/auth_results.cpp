// RFC 8601 §2.2: authserv-id [version] *(";" method[/version]=result
// [reason] *(ptype.property=value)), with CFWS (comments in parentheses)
// allowed between the tokens. Comments are removed first, then the value is
// split at the semicolons outside quoted strings.
#include "auth_results.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace smtp_exporter::probes {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// The value with comments replaced by a space; quoted strings kept (their
// parentheses are text). nullopt when a comment or string is not closed.
bool strip_comments(std::string_view value, std::string& out) {
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\' && (quoted || depth > 0)) {
      if (++i >= value.size()) return false;
      if (quoted) out.push_back(value[i]);
      continue;
    }
    if (depth > 0) {
      if (c == '(') {
        if (++depth > 32) return false;
      } else if (c == ')') {
        if (--depth == 0) out.push_back(' ');
      }
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (!quoted && c == '(') {
      depth = 1;
      continue;
    }
    out.push_back(c);
  }
  return depth == 0 && !quoted;
}

// Splits at ';' outside quoted strings.
std::vector<std::string_view> split(std::string_view value) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '"') quoted = !quoted;
    if (value[i] == ';' && !quoted) {
      parts.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(value.substr(start));
  return parts;
}

// The first word (a token or a quoted string, unquoted).
std::string first_word(std::string_view s) {
  s = trim(s);
  if (s.starts_with("\"")) {
    std::size_t end = s.find('"', 1);
    return std::string(s.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1));
  }
  std::size_t end = 0;
  while (end < s.size() && !space(s[end])) ++end;
  return std::string(s.substr(0, end));
}

bool token_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; }

std::optional<AuthResultsField> parse_field(std::string_view value) {
  std::string clean;
  if (!strip_comments(value, clean)) return std::nullopt;
  std::vector<std::string_view> parts = split(clean);
  AuthResultsField field;
  field.authserv_id = first_word(parts.front());
  if (field.authserv_id.empty()) return std::nullopt;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    std::string_view part = trim(parts[i]);
    if (part.empty()) continue;
    if (i == 1 && parts.size() == 2 && lower(part) == "none") break;  // no-result
    // method [CFWS] ["/" version] [CFWS] "=" [CFWS] result
    std::size_t p = 0;
    while (p < part.size() && token_char(part[p])) ++p;
    std::string method = lower(part.substr(0, p));
    while (p < part.size() && space(part[p])) ++p;
    if (p < part.size() && part[p] == '/') {
      ++p;
      while (p < part.size() && space(part[p])) ++p;
      while (p < part.size() && std::isdigit(static_cast<unsigned char>(part[p]))) ++p;
      while (p < part.size() && space(part[p])) ++p;
    }
    if (method.empty() || p >= part.size() || part[p] != '=') continue;  // not a resinfo: skip it
    ++p;
    while (p < part.size() && space(part[p])) ++p;
    std::size_t start = p;
    while (p < part.size() && token_char(part[p])) ++p;
    if (p == start) continue;
    field.results.push_back({method, lower(part.substr(start, p - start))});
  }
  return field;
}

bool header_name_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || lower(line.substr(0, name.size())) != lower(name)) return false;
  std::string_view rest = line.substr(name.size());
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  return rest.starts_with(":");
}

}  // namespace

std::vector<AuthResultsField> parse_authentication_results(std::string_view block) {
  // Unfold: a line starting with white space continues the previous field.
  std::vector<std::string> fields;
  std::size_t pos = 0;
  while (pos < block.size()) {
    std::size_t end = block.find('\n', pos);
    std::string_view line = block.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? block.size() : end + 1;
    if (line.ends_with("\r")) line.remove_suffix(1);
    if (line.empty()) break;  // the end of the header
    if ((line.front() == ' ' || line.front() == '\t') && !fields.empty())
      fields.back().append(" ").append(line);
    else
      fields.emplace_back(line);
  }
  std::vector<AuthResultsField> out;
  constexpr std::string_view kName = "Authentication-Results";
  for (const std::string& f : fields) {
    if (!header_name_is(f, kName)) continue;
    std::string_view value = std::string_view(f).substr(f.find(':') + 1);
    if (auto field = parse_field(value)) out.push_back(std::move(*field));
  }
  return out;
}

std::vector<AuthResult> trusted_auth_results(std::string_view block, std::string_view authserv_id) {
  static constexpr std::string_view kMethods[] = {"spf", "dkim", "dmarc"};
  static constexpr std::string_view kResults[] = {"none",      "pass",      "fail",   "softfail", "neutral",
                                                  "temperror", "permerror", "policy", "hardfail"};
  std::vector<AuthResult> out;
  std::string wanted = lower(authserv_id);
  for (const auto& field : parse_authentication_results(block)) {
    if (wanted.empty() || lower(field.authserv_id) != wanted) continue;
    for (const auto& r : field.results) {
      if (std::find(std::begin(kMethods), std::end(kMethods), r.method) == std::end(kMethods)) continue;
      AuthResult bounded{r.method, std::find(std::begin(kResults), std::end(kResults), r.result) == std::end(kResults)
                                       ? std::string("other")
                                       : r.result};
      bool seen = std::any_of(out.begin(), out.end(), [&](const AuthResult& a) {
        return a.method == bounded.method && a.result == bounded.result;
      });
      if (!seen) out.push_back(std::move(bounded));
    }
  }
  return out;
}

}  // namespace smtp_exporter::probes
