// quit_after and expect_code: where a conversation stops, and which replies
// a module expects (negative checks such as an open-relay test).
#include <algorithm>
#include <cctype>
#include <iterator>

#include "module_reader.h"
#include "table_reader.h"

namespace smtp_exporter::config {
namespace {

constexpr std::pair<std::string_view, Step> kSteps[] = {
    {"mx", Step::mx},           {"connect", Step::connect}, {"banner", Step::banner}, {"ehlo", Step::ehlo}, {"tls", Step::tls},
    {"auth", Step::auth},       {"mail", Step::mail},     {"rcpt", Step::rcpt}, {"data", Step::data}};

// The stages whose command reply expect_code can check, with the step each
// belongs to (STARTTLS is the tls step).
constexpr std::pair<std::string_view, Step> kExpectStages[] = {{"ehlo", Step::ehlo}, {"starttls", Step::tls},
                                                               {"auth", Step::auth}, {"mail", Step::mail},
                                                               {"rcpt", Step::rcpt}, {"data", Step::data}};

// The step of an expect_code stage; nullopt for an unknown stage.
std::optional<Step> expect_step(std::string_view stage) {
  for (const auto& [name, step] : kExpectStages)
    if (name == stage) return step;
  return std::nullopt;
}

// Where a step happens in the conversation: with implicit TLS the handshake
// comes first, before the greeting.
int position(Step step, TlsMode mode) {
  // Implicit TLS: right after connect, before the banner.
  if (step == Step::tls && mode == TlsMode::implicit) return 2 * static_cast<int>(Step::connect) + 1;
  return 2 * static_cast<int>(step);
}

// 554 or "554", "55x", "5xx": a reply code 200-599 with trailing wildcards.
std::optional<std::string> code_pattern(const toml::node& node) {
  if (auto n = node.value_exact<std::int64_t>()) {
    if (*n < 200 || *n > 599) return std::nullopt;
    return std::to_string(*n);
  }
  auto text = node.value_exact<std::string>();
  if (!text || text->size() != 3 || (*text)[0] < '2' || (*text)[0] > '5') return std::nullopt;
  std::string pattern = *text;
  for (char& c : pattern) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool wildcard = false;
  for (std::size_t i = 1; i < 3; ++i) {
    if (pattern[i] == 'x') {
      wildcard = true;
    } else if (!std::isdigit(static_cast<unsigned char>(pattern[i])) || wildcard) {
      return std::nullopt;  // a digit after a wildcard ("5x4") matches nothing useful
    }
  }
  return pattern;
}

std::vector<std::string> read_patterns(TableReader& reader, std::string_view key, const toml::node& node) {
  constexpr std::string_view kExpected = "expected a reply code (e.g. 554), a pattern (\"5xx\") or an array of them";
  std::vector<std::string> patterns;
  if (const toml::array* array = node.as_array()) {
    if (array->empty()) reader.fail(key, "must list at least one reply code");
    for (const auto& element : *array) {
      auto pattern = code_pattern(element);
      if (!pattern) reader.fail(key, kExpected);
      patterns.push_back(*pattern);
    }
  } else {
    auto pattern = code_pattern(node);
    if (!pattern) reader.fail(key, kExpected);
    patterns.push_back(*pattern);
  }
  return patterns;
}

}  // namespace

std::string_view to_string(Step step) {
  for (const auto& [name, s] : kSteps)
    if (s == step) return name;
  return "unknown";
}

bool code_matches(const std::vector<std::string>& patterns, int code) {
  std::string text = std::to_string(code);
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& pattern) {
    if (pattern.size() != text.size()) return false;
    for (std::size_t i = 0; i < pattern.size(); ++i)
      if (pattern[i] != 'x' && pattern[i] != text[i]) return false;
    return true;
  });
}

// After the module's tls/auth/send keys are read: they decide which steps
// exist, so quit_after and expect_code are checked against them.
void read_steps(TableReader& reader, Module& m) {
  // What a step needs configured to happen at all; empty when it can.
  auto needs = [&](Step step) -> std::string {
    switch (step) {
      case Step::mx:
        if (!m.mx) return "needs mx = true (the target is a mail domain)";
        break;
      case Step::tls:
        if (m.tls == TlsMode::none) return "needs tls = starttls, implicit or opportunistic";
        break;
      case Step::auth:
        // AUTH runs with an [auth] table, or bare for expect_code.auth.
        if (!m.auth && !m.expect_code.contains("auth")) return "needs an [auth] table or expect_code.auth";
        break;
      case Step::mail:
      case Step::rcpt:
      case Step::data:
        if (!m.send) return "needs a [send] table (from, to)";
        break;
      default:
        break;
    }
    return {};
  };

  if (const toml::table* expect = reader.table("expect_code")) {
    TableReader located(*expect, reader.qualified("expect_code"), reader.file());
    for (const auto& [key, node] : *expect) {
      std::string stage(key.str());
      std::optional<Step> known = expect_step(stage);
      if (!known)
        located.fail(stage, "unknown stage (expected one of: ehlo, starttls, auth, mail, rcpt, data; "
                            "the greeting has expect_banner_code)");
      if (stage == "starttls" && m.tls != TlsMode::starttls && m.tls != TlsMode::opportunistic)
        located.fail(stage, "needs tls = starttls or opportunistic");
      if (stage == "auth" && m.auth)
        located.fail(stage, "cannot be combined with an [auth] table: this check sends AUTH without credentials "
                            "and expects a refusal");
      m.expect_code[stage] = read_patterns(located, stage, node);
      if (std::string why = needs(*known); !why.empty()) located.fail(stage, why);
    }
  }

  if (auto step = reader.string("quit_after")) {
    m.quit_after = parse_enum(reader, "quit_after", *step, kSteps);
    if (std::string why = needs(*m.quit_after); !why.empty()) reader.fail("quit_after", why);
    for (const auto& [stage, patterns] : m.expect_code) {
      if (position(*expect_step(stage), m.tls) > position(*m.quit_after, m.tls))
        reader.fail("quit_after", "the probe stops before expect_code." + stage + " is checked");
    }
  }
}

void steps_to_toml(const Module& m, toml::table& module) {
  if (m.quit_after) module.insert("quit_after", std::string(to_string(*m.quit_after)));
  if (m.expect_code.empty()) return;
  toml::table expect;
  for (const auto& [stage, patterns] : m.expect_code) {
    toml::array codes;
    for (const auto& p : patterns) codes.push_back(p);
    expect.insert(stage, std::move(codes));
  }
  module.insert("expect_code", std::move(expect));
}

}  // namespace smtp_exporter::config
