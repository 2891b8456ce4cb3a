// TLSA records (RFC 6698, RFC 7672): the parser of their wire rdata (outside
// input: fuzzed in tests/fuzz/tlsa_rdata.cpp) and our own match of each record
// against a presented chain, so that every published record is reported (OpenSSL
// names only the one that authenticated) and a key rollover can be watched.
// Pure functions, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_exporter::probes {

using Bytes = std::vector<unsigned char>;

struct TlsaRecord {
  std::uint8_t usage = 0;          // 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
  std::uint8_t selector = 0;       // 0 full certificate, 1 SubjectPublicKeyInfo
  std::uint8_t matching_type = 0;  // 0 exact, 1 SHA-256, 2 SHA-512
  Bytes data;                      // the association data

  bool operator==(const TlsaRecord&) const = default;
};

// The rdata of one TLSA record: three octets and the association data.
// nullopt when it is shorter than 4 octets, or when a digest has the wrong
// length for its matching type (32 for SHA-256, 64 for SHA-512).
std::optional<TlsaRecord> parse_tlsa_rdata(const unsigned char* data, std::size_t size);

// RFC 7672 §3.1: for SMTP only DANE-TA(2) and DANE-EE(3) count, with
// selector 0 or 1 and matching type 0, 1 or 2; everything else is unusable.
bool usable(const TlsaRecord& record);

// "3 1 1 <hex>" (presentation form, digest in lower-case hex).
std::string to_text(const TlsaRecord& record);
std::string hex(const Bytes& bytes);

// The depth (0 = leaf) of the first certificate of `chain` (DER, leaf first,
// as presented) that the record matches, or -1. DANE-EE records are compared
// with the leaf only; DANE-TA (and PKIX-TA) records with the certificates
// above it; PKIX-EE with the leaf. Usages are not judged here (usable() is).
int match_depth(const TlsaRecord& record, const std::vector<Bytes>& chain);

// The bytes a record's selector picks from one certificate (DER), hashed by
// its matching type: what its data must equal. Empty if the DER is invalid.
Bytes association(std::uint8_t selector, std::uint8_t matching_type, const Bytes& certificate_der);

// Whether a key rollover can happen without breaking DANE-enforcing senders
// (docs/dane.md, "rollover_ready"): at least one usable record matches the
// presented chain today, and either another usable record does not match it
// (published for the next key), or a matching DANE-TA record stands beside a
// matching DANE-EE record (a new leaf key under the same issuer stays valid).
bool rollover_ready(const std::vector<TlsaRecord>& records, const std::vector<int>& depths);

}  // namespace smtp_exporter::probes
