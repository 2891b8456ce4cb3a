// The blackbox-style table of bad configuration files shared by the config
// and web config tests: one small file per error, with its exact message.
#pragma once

#include <ostream>
#include <string>

namespace smtp_exporter::bad_files {

struct BadFile {
  std::string file;
  std::string message;  // after "DIR/FILE:"
};
inline void PrintTo(const BadFile& b, std::ostream* os) { *os << b.file; }

// What the `Error` thrown by load(path) says, or "(no error)".
template <class Error, class Load>
std::string load_error(Load load, const std::string& path) {
  try {
    load(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace smtp_exporter::bad_files
