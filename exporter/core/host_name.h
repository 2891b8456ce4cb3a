#pragma once

#include <string>

namespace smtp_exporter::exporter {

// This host's fully-qualified name for EHLO: gethostname(), canonicalised
// through the resolver when it has no dot; empty when no name with a dot is
// found (the probe then says EHLO with an address literal, as RFC 5321
// allows). Called once at startup.
std::string fqdn();

}  // namespace smtp_exporter::exporter
