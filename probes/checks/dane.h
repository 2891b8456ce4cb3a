// DANE for SMTP (RFC 7672): TLSA records of the host, validated with DNSSEC
// (dnssec.h), handed to OpenSSL's DANE for the handshake, and each matched by
// us against the presented chain (tlsa.h). docs/dane.md.
#pragma once

#include <optional>

#include "dnssec.h"
#include "smtp_exporter/check.h"
#include "tlsa.h"

namespace smtp_exporter::probes {

struct DaneRecord {
  TlsaRecord record;
  bool usable = false;  // RFC 7672 §3.1
  int depth = -1;       // where our own match found it in the presented chain; -1: no match (or no handshake)
};

struct DaneSection {
  std::string host;       // the TLSA base domain asked first (the host, or its CNAME target)
  std::string tlsa_name;  // _PORT._tcp.BASE of the records used
  // The MX answer of the mail domain, for an MX host (RFC 7672 §2.2.1: an
  // insecure MX set makes its host names, and so their TLSA, untrusted).
  std::optional<DnssecStatus> mx_status;
  DnssecStatus address_status = DnssecStatus::indeterminate;  // the host's A/AAAA
  DnssecStatus tlsa_status = DnssecStatus::indeterminate;     // the TLSA answer
  std::string detail;     // why, when bogus or indeterminate
  std::vector<DaneRecord> records;  // every TLSA record published
  bool handshake = false;           // a handshake completed with the records in hand
  bool verified = false;            // OpenSSL's DANE authenticated the server
  int authority_depth = -1;         // SSL_get0_dane_authority
  int authority_usage = -1;         // the usage of the record that authenticated

  // The whole chain of answers (MX, addresses, TLSA): the worst status.
  DnssecStatus status() const;
  // Secure records from a secure chain: what senders enforce.
  bool applies() const { return status() == DnssecStatus::secure && !records.empty(); }
  int usable_count() const;
  int matching_count() const;  // usable records that match the presented chain
  bool rollover_ready() const;
};

const Check& dane_check();

}  // namespace smtp_exporter::probes
