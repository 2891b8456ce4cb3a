#include "smtp_exporter/probe_result.h"

namespace smtp_exporter::probes {

std::string_view to_string(Stage stage) {
  switch (stage) {
    case Stage::mx: return "mx";
    case Stage::resolve: return "resolve";
    case Stage::connect: return "connect";
    case Stage::tls: return "tls";
    case Stage::banner: return "banner";
    case Stage::ehlo: return "ehlo";
    case Stage::starttls: return "starttls";
    case Stage::quit: return "quit";
    case Stage::auth: return "auth";
    case Stage::mail: return "mail";
    case Stage::rcpt: return "rcpt";
    case Stage::data: return "data";
    case Stage::receive: return "receive";
    case Stage::mta_sts: return "mta_sts";
  }
  return "unknown";
}

std::string_view to_string(FailureReason reason) {
  switch (reason) {
    case FailureReason::nxdomain: return "nxdomain";
    case FailureReason::nodata: return "nodata";
    case FailureReason::servfail: return "servfail";
    case FailureReason::dns_error: return "dns_error";
    case FailureReason::refused: return "refused";
    case FailureReason::unreachable: return "unreachable";
    case FailureReason::connection_error: return "connection_error";
    case FailureReason::timeout: return "timeout";
    case FailureReason::closed: return "closed";
    case FailureReason::protocol_error: return "protocol_error";
    case FailureReason::unexpected_code: return "unexpected_code";
    case FailureReason::null_mx: return "null_mx";
    case FailureReason::no_reachable_mx: return "no_reachable_mx";
    case FailureReason::not_offered: return "not_offered";
    case FailureReason::tls_error: return "tls_error";
    case FailureReason::certificate_error: return "certificate_error";
    case FailureReason::plaintext_auth_refused: return "plaintext_auth_refused";
    case FailureReason::auth_error: return "auth_error";
    case FailureReason::temporary_failure: return "temporary_failure";
    case FailureReason::permanent_failure: return "permanent_failure";
    case FailureReason::dane_mismatch: return "dane_mismatch";
    case FailureReason::dnssec_bogus: return "dnssec_bogus";
    case FailureReason::tlsa_lookup_error: return "tlsa_lookup_error";
    case FailureReason::imap_connect: return "imap_connect";
    case FailureReason::imap_auth: return "imap_auth";
    case FailureReason::imap_error: return "imap_error";
    case FailureReason::not_delivered: return "not_delivered";
    case FailureReason::delivered_to_junk: return "delivered_to_junk";
    case FailureReason::txt_missing: return "txt_missing";
    case FailureReason::txt_invalid: return "txt_invalid";
    case FailureReason::policy_fetch_error: return "policy_fetch_error";
    case FailureReason::policy_certificate_error: return "policy_certificate_error";
    case FailureReason::policy_http_status: return "policy_http_status";
    case FailureReason::policy_content_type: return "policy_content_type";
    case FailureReason::policy_too_large: return "policy_too_large";
    case FailureReason::policy_invalid: return "policy_invalid";
  }
  return "unknown";
}

}  // namespace smtp_exporter::probes
