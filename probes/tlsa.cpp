// TLSA rdata and per-record matching (tlsa.h).
#include "tlsa.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace smtp_exporter::probes {

std::optional<TlsaRecord> parse_tlsa_rdata(const unsigned char* data, std::size_t size) {
  if (!data || size < 4) return std::nullopt;  // RFC 6698 §2.1: association data is never empty
  TlsaRecord r;
  r.usage = data[0];
  r.selector = data[1];
  r.matching_type = data[2];
  r.data.assign(data + 3, data + size);
  if (r.matching_type == 1 && r.data.size() != 32) return std::nullopt;
  if (r.matching_type == 2 && r.data.size() != 64) return std::nullopt;
  return r;
}

bool usable(const TlsaRecord& record) {
  return (record.usage == 2 || record.usage == 3) && record.selector <= 1 && record.matching_type <= 2;
}

std::string hex(const Bytes& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::string to_text(const TlsaRecord& record) {
  return std::to_string(record.usage) + " " + std::to_string(record.selector) + " " +
         std::to_string(record.matching_type) + " " + hex(record.data);
}

Bytes association(std::uint8_t selector, std::uint8_t matching_type, const Bytes& der) {
  const unsigned char* p = der.data();
  std::unique_ptr<X509, decltype(&X509_free)> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
  if (!cert) return {};
  Bytes selected;
  if (selector == 0) {
    selected = der;
  } else if (selector == 1) {
    unsigned char* out = nullptr;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &out);
    if (n <= 0) return {};
    selected.assign(out, out + n);
    OPENSSL_free(out);
  } else {
    return {};
  }
  const EVP_MD* md = matching_type == 0 ? nullptr : matching_type == 1 ? EVP_sha256() : matching_type == 2 ? EVP_sha512() : nullptr;
  if (matching_type == 0) return selected;
  if (!md) return {};
  Bytes digest(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  if (EVP_Digest(selected.data(), selected.size(), digest.data(), &length, md, nullptr) != 1) return {};
  digest.resize(length);
  return digest;
}

int match_depth(const TlsaRecord& record, const std::vector<Bytes>& chain) {
  bool end_entity = record.usage == 1 || record.usage == 3;
  std::size_t first = end_entity ? 0 : 1;
  std::size_t last = end_entity ? 1 : chain.size();
  for (std::size_t depth = first; depth < last && depth < chain.size(); ++depth) {
    Bytes expected = association(record.selector, record.matching_type, chain[depth]);
    if (!expected.empty() && expected == record.data) return static_cast<int>(depth);
  }
  return -1;
}

bool rollover_ready(const std::vector<TlsaRecord>& records, const std::vector<int>& depths) {
  bool matching = false, spare = false, ta_match = false, ee_match = false;
  for (std::size_t i = 0; i < records.size() && i < depths.size(); ++i) {
    if (!usable(records[i])) continue;
    if (depths[i] < 0) {
      spare = true;
      continue;
    }
    matching = true;
    if (records[i].usage == 2) ta_match = true;
    if (records[i].usage == 3) ee_match = true;
  }
  return matching && (spare || (ta_match && ee_match));
}

}  // namespace smtp_exporter::probes
