#include "test_pki.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>  // mkdtemp
#include <time.h>    // timegm

#include <cctype>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace smtp_exporter::testing {
namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
template <class T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, Deleter<T, Free>>;

using X509Ptr = Owned<X509, X509_free>;
using KeyPtr = Owned<EVP_PKEY, EVP_PKEY_free>;
using BioPtr = Owned<BIO, BIO_free_all>;
using BnPtr = Owned<BIGNUM, BN_free>;
using OctetPtr = Owned<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using BitStringPtr = Owned<ASN1_BIT_STRING, ASN1_BIT_STRING_free>;
using AkidPtr = Owned<AUTHORITY_KEYID, AUTHORITY_KEYID_free>;
using BasicConstraintsPtr = Owned<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>;
using GeneralNamePtr = Owned<GENERAL_NAME, GENERAL_NAME_free>;
using GeneralNamesPtr = Owned<GENERAL_NAMES, GENERAL_NAMES_free>;
using EkuPtr = Owned<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>;

// Throws with every error queued by OpenSSL (and clears the queue).
[[noreturn]] void fail(std::string_view what) {
  std::string message = "TestPki: " + std::string(what);
  bool first = true;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    message += first ? ": " : "; ";
    message += buf;
    first = false;
  }
  throw std::runtime_error(message);
}

void check(int ok, std::string_view what) {
  if (ok != 1) fail(what);
}

template <class T>
T* check(T* p, std::string_view what) {
  if (p == nullptr) fail(what);
  return p;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string hex(const unsigned char* data, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 0xf];
  }
  return out;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string name_text(const X509_NAME* name) {
  BioPtr bio(check(BIO_new(BIO_s_mem()), "BIO_new"));
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) fail("X509_NAME_print_ex");
  return bio_text(bio.get());
}

std::int64_t unix_time(const ASN1_TIME* t) {
  std::tm tm{};
  check(ASN1_TIME_to_tm(t, &tm), "ASN1_TIME_to_tm");
  return static_cast<std::int64_t>(timegm(&tm));
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("TestPki: cannot write " + path);
}

X509Ptr read_cert(const std::string& pem) {
  BioPtr bio(check(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), "BIO_new_mem_buf"));
  return X509Ptr(check(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), "PEM_read_bio_X509"));
}

KeyPtr read_key(const std::string& path) {
  BioPtr bio(check(BIO_new_file(path.c_str(), "r"), "BIO_new_file"));
  return KeyPtr(check(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), "PEM_read_bio_PrivateKey"));
}

template <class T>
void add_extension(X509* x, int nid, T* value, bool critical, std::string_view what) {
  check(X509_add1_ext_i2d(x, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT), what);
}

void set_serial(X509* x) {
  unsigned char bytes[16];
  check(RAND_bytes(bytes, sizeof bytes), "RAND_bytes");
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7f) | 0x40);  // positive, exactly 127 bits
  BnPtr bn(check(BN_bin2bn(bytes, sizeof bytes, nullptr), "BN_bin2bn"));
  check(BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x)), "BN_to_ASN1_INTEGER");
}

void set_validity(X509* x, const CertSpec& spec) {
  std::time_t now = std::time(nullptr);
  check(ASN1_TIME_set(X509_getm_notBefore(x), now + spec.not_before.count()), "ASN1_TIME_set(notBefore)");
  check(ASN1_TIME_set(X509_getm_notAfter(x), now + spec.not_after.count()), "ASN1_TIME_set(notAfter)");
}

void set_alt_names(X509* x, const CertSpec& spec) {
  if (spec.dns_names.empty() && spec.ip_addresses.empty()) return;
  GeneralNamesPtr names(check(sk_GENERAL_NAME_new_null(), "sk_GENERAL_NAME_new_null"));
  auto push = [&](int type, ASN1_STRING* value) {
    GeneralNamePtr name(check(GENERAL_NAME_new(), "GENERAL_NAME_new"));
    GENERAL_NAME_set0_value(name.get(), type, value);  // takes ownership of value
    if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0) fail("sk_GENERAL_NAME_push");
    name.release();
  };
  for (const std::string& dns : spec.dns_names) {
    ASN1_IA5STRING* s = check(ASN1_IA5STRING_new(), "ASN1_IA5STRING_new");
    if (ASN1_STRING_set(s, dns.data(), static_cast<int>(dns.size())) != 1) {
      ASN1_IA5STRING_free(s);
      fail("ASN1_STRING_set");
    }
    push(GEN_DNS, s);
  }
  for (const std::string& ip : spec.ip_addresses) {
    ASN1_OCTET_STRING* octets = a2i_IPADDRESS(ip.c_str());
    if (octets == nullptr) fail("bad IP address \"" + ip + "\"");
    push(GEN_IPADD, octets);
  }
  add_extension(x, NID_subject_alt_name, names.get(), spec.dns_names.empty() && spec.common_name.empty(),
                "subjectAltName");
}

}  // namespace

TestPki::TestPki() {
  std::string pattern = (std::filesystem::temp_directory_path() / "smtp_exporter_pki.XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "TestPki: mkdtemp " + pattern);
  dir_ = pattern;
  try {
    CertSpec ca;
    ca.common_name = "smtp_exporter test CA";
    ca.not_after = std::chrono::seconds(10LL * 365 * 24 * 3600);
    ca.is_ca = true;
    root_ = self_signed(ca);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw;
  }
}

TestPki::~TestPki() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

const Issued& TestPki::root() const { return root_; }
const std::string& TestPki::dir() const { return dir_; }

Issued TestPki::issue(const CertSpec& spec, const Issued& issuer) { return make(spec, &issuer); }
Issued TestPki::self_signed(const CertSpec& spec) { return make(spec, nullptr); }

std::string TestPki::next_path(const char* stem) {
  return dir_ + "/" + stem + "-" + std::to_string(++counter_) + ".pem";
}

std::string TestPki::chain_file(const std::vector<const Issued*>& chain) {
  std::string text;
  for (const Issued* cert : chain) text += cert->cert_pem;
  std::string path = next_path("chain");
  write_file(path, text);
  return path;
}

Issued TestPki::make(const CertSpec& spec, const Issued* issuer) {
  KeyPtr key(check(EVP_EC_gen("P-256"), "EVP_EC_gen(P-256)"));
  X509Ptr cert(check(X509_new(), "X509_new"));
  X509* x = cert.get();
  check(X509_set_version(x, X509_VERSION_3), "X509_set_version");
  set_serial(x);
  set_validity(x, spec);
  check(X509_set_pubkey(x, key.get()), "X509_set_pubkey");

  X509_NAME* subject = X509_get_subject_name(x);
  if (!spec.common_name.empty())
    check(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(spec.common_name.data()),
                                     static_cast<int>(spec.common_name.size()), -1, 0),
          "X509_NAME_add_entry_by_txt(CN)");

  X509Ptr issuer_cert;
  KeyPtr issuer_key;
  if (issuer != nullptr) {
    issuer_cert = read_cert(issuer->cert_pem);
    issuer_key = read_key(issuer->key_file);
    check(X509_check_private_key(issuer_cert.get(), issuer_key.get()), "issuer key does not match its certificate");
  }
  X509* signer_cert = issuer ? issuer_cert.get() : x;
  EVP_PKEY* signer_key = issuer ? issuer_key.get() : key.get();
  check(X509_set_issuer_name(x, X509_get_subject_name(signer_cert)), "X509_set_issuer_name");

  // subjectKeyIdentifier: SHA-1 of the public key bit string (RFC 5280 4.2.1.2 method 1).
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  check(X509_pubkey_digest(x, EVP_sha1(), md, &md_len), "X509_pubkey_digest");
  OctetPtr ski(check(ASN1_OCTET_STRING_new(), "ASN1_OCTET_STRING_new"));
  check(ASN1_OCTET_STRING_set(ski.get(), md, static_cast<int>(md_len)), "ASN1_OCTET_STRING_set");
  add_extension(x, NID_subject_key_identifier, ski.get(), false, "subjectKeyIdentifier");

  // authorityKeyIdentifier: the signer's subjectKeyIdentifier.
  const ASN1_OCTET_STRING* signer_ski = issuer ? X509_get0_subject_key_id(signer_cert) : ski.get();
  if (signer_ski == nullptr) throw std::runtime_error("TestPki: the issuer has no subjectKeyIdentifier");
  AkidPtr akid(check(AUTHORITY_KEYID_new(), "AUTHORITY_KEYID_new"));
  akid->keyid = check(ASN1_OCTET_STRING_dup(signer_ski), "ASN1_OCTET_STRING_dup");
  add_extension(x, NID_authority_key_identifier, akid.get(), false, "authorityKeyIdentifier");

  BasicConstraintsPtr bc(check(BASIC_CONSTRAINTS_new(), "BASIC_CONSTRAINTS_new"));
  bc->ca = spec.is_ca ? 0xff : 0;
  add_extension(x, NID_basic_constraints, bc.get(), true, "basicConstraints");

  BitStringPtr usage(check(ASN1_BIT_STRING_new(), "ASN1_BIT_STRING_new"));
  if (spec.is_ca) {
    check(ASN1_BIT_STRING_set_bit(usage.get(), 5, 1), "keyUsage keyCertSign");
    check(ASN1_BIT_STRING_set_bit(usage.get(), 6, 1), "keyUsage cRLSign");
  } else {
    check(ASN1_BIT_STRING_set_bit(usage.get(), 0, 1), "keyUsage digitalSignature");
  }
  add_extension(x, NID_key_usage, usage.get(), true, "keyUsage");

  if (!spec.is_ca) {
    EkuPtr eku(check(sk_ASN1_OBJECT_new_null(), "sk_ASN1_OBJECT_new_null"));
    ASN1_OBJECT* server_auth = check(OBJ_nid2obj(NID_server_auth), "OBJ_nid2obj(serverAuth)");
    if (sk_ASN1_OBJECT_push(eku.get(), server_auth) == 0) fail("sk_ASN1_OBJECT_push");
    if (spec.client_auth) {
      ASN1_OBJECT* client_auth = check(OBJ_nid2obj(NID_client_auth), "OBJ_nid2obj(clientAuth)");
      if (sk_ASN1_OBJECT_push(eku.get(), client_auth) == 0) fail("sk_ASN1_OBJECT_push");
    }
    add_extension(x, NID_ext_key_usage, eku.get(), false, "extendedKeyUsage");
  }

  set_alt_names(x, spec);

  if (X509_sign(x, signer_key, EVP_sha256()) <= 0) fail("X509_sign");

  Issued out;
  {
    BioPtr bio(check(BIO_new(BIO_s_mem()), "BIO_new"));
    check(PEM_write_bio_X509(bio.get(), x), "PEM_write_bio_X509");
    out.cert_pem = bio_text(bio.get());
  }
  std::string key_pem;
  {
    BioPtr bio(check(BIO_new(BIO_s_mem()), "BIO_new"));
    check(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr),
          "PEM_write_bio_PrivateKey");
    key_pem = bio_text(bio.get());
  }
  out.cert_file = next_path("cert");
  out.key_file = next_path("key");
  write_file(out.cert_file, out.cert_pem);
  write_file(out.key_file, key_pem);

  out.not_after_unix = unix_time(X509_get0_notAfter(x));
  {
    BnPtr serial(check(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr), "ASN1_INTEGER_to_BN"));
    char* text = check(BN_bn2hex(serial.get()), "BN_bn2hex");
    out.serial_hex = lower(text);
    OPENSSL_free(text);
  }
  unsigned char fp[EVP_MAX_MD_SIZE];
  unsigned int fp_len = 0;
  check(X509_digest(x, EVP_sha256(), fp, &fp_len), "X509_digest");
  out.fingerprint_sha256 = hex(fp, fp_len);
  out.subject = name_text(X509_get_subject_name(x));
  out.issuer = name_text(X509_get_issuer_name(x));
  return out;
}

}  // namespace smtp_exporter::testing
