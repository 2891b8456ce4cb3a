// How the configuration is written back as TOML (to_toml, /config, the debug
// page): one formatting rule and one key quoting rule, so that whatever the
// loader accepts renders to text that loads again to the same values.
#pragma once

#include <string>
#include <string_view>
#include <toml++/toml.h>

namespace smtp_exporter::config {

// toml++'s default formatting (literal 'strings' where they need no escape),
// or with `escaped`, "basic" strings only: for values that may hold line
// breaks or tabs (a message body). toml++ 3.3 would write those as a
// multi-line literal string, whose first line break TOML drops on reading,
// or, with multi-line strings off, as a literal string with a raw line break,
// which does not load at all.
std::string toml_text(const toml::table& table, bool escaped = false);

// A key as TOML needs it: bare when it is [A-Za-z0-9_-]+, else a basic string
// with escapes. (toml++ 3.3 writes a key with a ' in it bare, which does not
// load again.)
std::string toml_key(std::string_view key);

}  // namespace smtp_exporter::config
