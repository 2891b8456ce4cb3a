#pragma once

#include <string>

namespace smtp_exporter::exporter {

// This host's fully-qualified name for EHLO: gethostname(), canonicalised
// through the resolver when it has no dot. Called once at startup.
std::string fqdn();

}  // namespace smtp_exporter::exporter
