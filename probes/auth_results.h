// The Authentication-Results header fields (RFC 8601) of a received message:
// what the receiving side decided about SPF, DKIM and DMARC. Only fields
// whose authserv-id is the configured one count: any other (a sender can
// write one) is ignored (RFC 8601 §5). Pure; unit-tested and fuzzed
// (tests/fuzz/auth_results_fuzz.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smtp_exporter::probes {

struct AuthResult {
  std::string method;  // lower case: "spf", "dkim", "dmarc", ...
  std::string result;  // lower case: "pass", "fail", "none", ...
};

struct AuthResultsField {
  std::string authserv_id;  // as written (the comparison ignores case)
  std::vector<AuthResult> results;
};

// Every Authentication-Results field of a header block (raw header lines,
// folded or not, CRLF or LF; other fields are skipped). A field that cannot
// be read is left out.
std::vector<AuthResultsField> parse_authentication_results(std::string_view header_block);

// The results of the fields from `authserv_id` only, for the methods spf,
// dkim and dmarc, each distinct (method, result) once, in order. Results
// outside RFC 8601's registry come back as "other", so the metric's labels
// stay bounded.
std::vector<AuthResult> trusted_auth_results(std::string_view header_block, std::string_view authserv_id);

}  // namespace smtp_exporter::probes
