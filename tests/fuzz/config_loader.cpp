// Fuzz target: config::load_string (config/*.cpp) on arbitrary TOML.
//
// load_string must return a Config or throw config::ConfigError (with a
// "fuzz.toml:LINE:COLUMN: ..." message); any other exception, a crash or a
// sanitizer report is a bug. A Config that loads must be valid (the checks
// below restate the documented ranges), and its rendering by to_toml must
// load again and render identically (to_toml is a fixed point after one
// round: it prints the effective settings, e.g. the [dns] defaults applied
// to each module, which then read back unchanged).
//
// The strings of the document are also given to parse_duration (with the
// format_duration round trip) and parse_allowed_target.
#include <toml++/toml.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <typeinfo>

#include "fuzz_check.h"
#include "smtp_exporter/config.h"

namespace config = smtp_exporter::config;

namespace {

const std::string kSource = "fuzz.toml";

// Paths the loader reads (ca_file, password_file, ...) could name a device
// such as /dev/zero or /dev/full, whose reading never ends. The config file is
// trusted input written by the operator, so such inputs are skipped: they
// would only report an out-of-memory or a timeout in the fuzzer.
bool names_special_file(const std::string& value) {
  std::string path(value.c_str());  // what open() sees: up to the first NUL
  if (path.empty()) return false;
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) return false;
  auto canonical = std::filesystem::weakly_canonical(path, ec).string();
  if (ec) return true;
  if (canonical == "/dev/null") return false;  // empty, as the seeds use it
  if (!std::filesystem::is_regular_file(status) && !std::filesystem::is_directory(status)) return true;
  return canonical.starts_with("/proc/") || canonical.starts_with("/sys/") || canonical.starts_with("/dev/");
}

// Durations written back read the same.
void check_duration(std::string_view text) {
  auto d = config::parse_duration(text);
  if (!d) return;
  FUZZ_CHECK(d->count() >= 0);
  std::string formatted = config::format_duration(*d);
  auto again = config::parse_duration(formatted);
  FUZZ_CHECK(again && *again == *d);
}

void check_allowed_target(std::string_view text) {
  std::string error;
  auto target = config::parse_allowed_target(text, error);
  if (!target) {
    FUZZ_CHECK(!error.empty());
    return;
  }
  config::WebSettings web{{*target}};
  using Kind = config::AllowedTarget::Kind;
  switch (target->kind) {
    case Kind::name:
      // As written (not target->name: "192.0.2.1." is a name entry whose
      // name "192.0.2.1" would be taken as an address).
      FUZZ_CHECK(config::target_allowed(web, target->text));
      FUZZ_CHECK(!config::target_allowed(web, "x" + target->name + "x"));
      break;
    case Kind::wildcard:
      FUZZ_CHECK(target->name.starts_with("."));
      FUZZ_CHECK(config::target_allowed(web, "x" + target->name));
      FUZZ_CHECK(!config::target_allowed(web, target->name.substr(1)));  // the domain itself is not covered
      break;
    case Kind::network:
      FUZZ_CHECK(target->prefix >= 0 && target->prefix <= (target->ipv6 ? 128 : 32));
      // The network's own address (before any "/LEN") is inside it.
      FUZZ_CHECK(config::target_allowed(web, std::string_view(target->text).substr(0, target->text.find('/'))));
      break;
  }
}

// Walks every value of the document: false when the input names a special
// file (see names_special_file); feeds strings to the helpers above.
bool walk(const toml::node& node) {
  if (const auto* table = node.as_table()) {
    for (const auto& [key, value] : *table) {
      check_duration(key.str());
      if (!walk(value)) return false;
    }
  } else if (const auto* array = node.as_array()) {
    for (const auto& value : *array)
      if (!walk(value)) return false;
  } else if (const auto* text = node.as_string()) {
    const std::string& s = text->get();
    if (names_special_file(s)) return false;
    check_duration(s);
    check_allowed_target(s);
  }
  return true;
}

// What a loaded Config guarantees (ranges from config/module.cpp, load.cpp).
void check_config(const config::Config& c) {
  FUZZ_CHECK(!c.modules.empty());
  FUZZ_CHECK(c.source == kSource);
  for (const auto& [name, m] : c.modules) {
    FUZZ_CHECK(!name.empty() && name.size() <= 64);
    FUZZ_CHECK(m.port >= 1);
    FUZZ_CHECK(m.timeout > config::Duration::zero());
    FUZZ_CHECK(m.expect_banner_code >= 200 && m.expect_banner_code <= 599);
    FUZZ_CHECK(m.retries >= 0 && m.retries <= 10);
    FUZZ_CHECK(m.dns.tries >= 0 && m.dns.tries <= 10);
    FUZZ_CHECK(m.dns.timeout >= config::Duration::zero());
    FUZZ_CHECK(m.degraded_cert_days >= 0 && m.degraded_cert_days <= 3650);
    FUZZ_CHECK(!m.mx || (!m.auth && !m.send));
    FUZZ_CHECK(m.ehlo_name.find_first_of(" \r\n") == std::string::npos);
    if (m.tls_config.min_version && m.tls_config.max_version)
      FUZZ_CHECK(*m.tls_config.min_version <= *m.tls_config.max_version);
    if (m.auth) {
      FUZZ_CHECK(!m.auth->username.empty());
      FUZZ_CHECK(m.auth->password_file.empty() != m.auth->password_env.empty());
      FUZZ_CHECK(!m.auth->mechanisms.empty());
    }
    if (m.send) FUZZ_CHECK(!m.send->to.empty());
    for (const auto& [stage, patterns] : m.expect_code) {
      FUZZ_CHECK(!patterns.empty());
      for (const auto& p : patterns) {
        FUZZ_CHECK(p.size() == 3 && p[0] >= '2' && p[0] <= '5');
        std::string code = p;
        for (char& ch : code)
          if (ch == 'x') ch = '0';
        FUZZ_CHECK(config::code_matches({p}, std::stoi(code)));
        FUZZ_CHECK(!config::code_matches({p}, 1000 + std::stoi(code)));
      }
    }
    (void)config::to_string(m.tls);
    if (m.quit_after) FUZZ_CHECK(config::to_string(*m.quit_after) != "unknown");
  }
  for (std::size_t i = 0; i < c.targets.size(); ++i) {
    const auto& t = c.targets[i];
    FUZZ_CHECK(!t.name.empty() && !t.target.empty());
    FUZZ_CHECK(c.modules.contains(t.module));
    FUZZ_CHECK(t.interval >= std::chrono::seconds(1));
    FUZZ_CHECK(t.where.starts_with(kSource + ":"));
    for (std::size_t j = 0; j < i; ++j) FUZZ_CHECK(c.targets[j].name != t.name);
  }
  if (auto name = config::default_module(c)) FUZZ_CHECK(c.modules.contains(*name));
  for (const auto& t : c.web.allowed_targets) {
    using Kind = config::AllowedTarget::Kind;
    if (t.kind == Kind::name) FUZZ_CHECK(config::target_allowed(c.web, t.text));
    if (t.kind == Kind::wildcard) FUZZ_CHECK(config::target_allowed(c.web, "x" + t.name));
  }
}

[[noreturn]] void unexpected(const char* where, const std::exception& e) {
  std::fprintf(stderr, "%s threw %s (not config::ConfigError): %s\n", where, typeid(e).name(), e.what());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(bytes), size);

  try {
    toml::table document = toml::parse(text, kSource);
    if (!walk(document)) return -1;  // names a device: not worth keeping in the corpus
  } catch (const toml::parse_error&) {
    // load_string must turn this into a ConfigError: checked below.
  }

  config::Config loaded;
  try {
    loaded = config::load_string(text, kSource);
  } catch (const config::ConfigError& e) {
    std::string_view message = e.what();
    FUZZ_CHECK(message.starts_with(kSource + ":"));
    return 0;
  } catch (const std::exception& e) {
    unexpected("load_string", e);
  }
  check_config(loaded);

  // Round trip: the rendering loads again and renders the same.
  std::string first = config::to_toml(loaded);
  config::Config again;
  try {
    again = config::load_string(first, kSource);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "to_toml output does not load again:\n%s\n", first.c_str());
    unexpected("load_string(to_toml(config))", e);
  }
  check_config(again);
  std::string second = config::to_toml(again);
  if (second != first) {
    std::fprintf(stderr, "to_toml is not stable:\n--- first\n%s\n--- second\n%s\n", first.c_str(), second.c_str());
    FUZZ_CHECK(second == first);
  }
  return 0;
}
