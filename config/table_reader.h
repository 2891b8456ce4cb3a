// Typed, position-aware access to one TOML table. Every key read is marked;
// finish() rejects the keys nobody read, so typos are errors, not silence.
#pragma once

#include <set>
#include <vector>
#include <string>
#include <toml++/toml.h>

#include "smtp_exporter/config.h"

namespace smtp_exporter::config {

class TableReader {
 public:
  TableReader(const toml::table& table, std::string path, const std::string& file)
      : table_(table), path_(std::move(path)), file_(file) {}

  // The value under `key` if present; a ConfigError when it has another type.
  std::optional<std::int64_t> integer(std::string_view key) { return typed<std::int64_t>(key, "an integer"); }
  // One line of text: control characters are refused here, for every key,
  // so that no name, target or label can break a log line, a command or the
  // rendering of the configuration (to_toml).
  std::optional<std::string> string(std::string_view key) {
    auto value = typed<std::string>(key, "a string");
    if (value) refuse_control_characters(key, *value, false);
    return value;
  }
  // Several lines of text (a message body): line breaks and tabs are allowed.
  std::optional<std::string> text(std::string_view key) {
    auto value = typed<std::string>(key, "a string");
    if (value) refuse_control_characters(key, *value, true);
    return value;
  }
  std::optional<bool> boolean(std::string_view key) { return typed<bool>(key, "a boolean"); }
  std::optional<std::vector<std::string>> strings(std::string_view key) {
    const toml::node* node = mark(key);
    if (!node) return std::nullopt;
    const toml::array* array = node->as_array();
    if (!array) fail(key, "expected an array of strings");
    std::vector<std::string> out;
    for (const auto& element : *array) {
      auto value = element.value_exact<std::string>();
      if (!value) fail(key, "expected an array of strings");
      refuse_control_characters(key, *value, false);
      out.push_back(*value);
    }
    return out;
  }
  const toml::table* table(std::string_view key) {
    const toml::node* node = mark(key);
    if (!node) return nullptr;
    if (!node->is_table()) fail(key, "expected a table");
    return node->as_table();
  }

  // Throws a ConfigError located at `key` (or at the table itself).
  [[noreturn]] void fail(std::string_view key, std::string_view reason) const {
    const toml::node* node = key.empty() ? nullptr : table_.get(key);
    const toml::source_region& where = node ? node->source() : table_.source();
    throw ConfigError(file_ + ":" + std::to_string(where.begin.line) + ":" +
                      std::to_string(where.begin.column) + ": " + qualified(key) + ": " +
                      std::string(reason));
  }

  // Marks a key as read by a caller that handles it itself.
  void mark_read(std::string_view key) { seen_.insert(std::string(key)); }

  // Rejects every key that was not read.
  void finish() const {
    for (const auto& [key, node] : table_)
      if (!seen_.contains(std::string(key.str())))
        fail(key.str(), "unknown key");
  }

  std::string qualified(std::string_view key) const {
    if (path_.empty()) return std::string(key);
    if (key.empty()) return path_;
    return path_ + "." + std::string(key);
  }

  const toml::table& raw() const { return table_; }
  const std::string& file() const { return file_; }

 private:
  const toml::node* mark(std::string_view key) {
    seen_.insert(std::string(key));
    return table_.get(key);
  }
  void refuse_control_characters(std::string_view key, std::string_view value, bool multi_line) const {
    for (char c : value) {
      auto u = static_cast<unsigned char>(c);
      if (multi_line && (c == '\n' || c == '\r' || c == '\t')) continue;
      if (c == '\n' || c == '\r') fail(key, "must not contain line breaks");
      if (u < 0x20 || u == 0x7f) fail(key, "must not contain control characters");
    }
  }
  template <typename T>
  std::optional<T> typed(std::string_view key, std::string_view what) {
    const toml::node* node = mark(key);
    if (!node) return std::nullopt;
    auto value = node->value_exact<T>();
    if (!value) fail(key, "expected " + std::string(what));
    return *value;
  }

  const toml::table& table_;
  std::string path_;
  const std::string& file_;
  std::set<std::string> seen_;
};

}  // namespace smtp_exporter::config
