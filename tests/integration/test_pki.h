// A throw-away PKI for TLS tests: EC P-256 certificates generated at run time
// with the OpenSSL 3 C API into a private temporary directory.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace smtp_exporter::testing {

struct CertSpec {
  std::string common_name;                 // empty: no CN in the subject
  std::vector<std::string> dns_names;      // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;   // subjectAltName IP entries ("127.0.0.1", "::1")
  std::chrono::seconds not_before{-3600};  // relative to now
  std::chrono::seconds not_after{30 * 24 * 3600};  // relative to now (negative = already expired)
  bool is_ca = false;  // basicConstraints CA:TRUE + keyUsage keyCertSign, cRLSign
  bool client_auth = false;  // leaves: extendedKeyUsage clientAuth as well (a TLS client certificate)
};

struct Issued {
  std::string cert_file;  // PEM file of this certificate alone
  std::string key_file;   // PEM private key (PKCS#8, unencrypted)
  std::string cert_pem;
  std::int64_t not_after_unix = 0;  // notAfter as Unix seconds, exactly as encoded
  std::string serial_hex;           // BN_bn2hex of the serial, lower-cased
  std::string fingerprint_sha256;   // lower-case hex of SHA-256 over DER, no separators
  std::string subject;              // X509_NAME_print_ex(..., XN_FLAG_RFC2253), e.g. "CN=mail.example.test"
  std::string issuer;               // same format
};

// Every certificate: version 3, random positive 127-bit serial, SHA-256
// (ECDSA) signature, subjectKeyIdentifier and authorityKeyIdentifier (keyid).
// Leaves (is_ca = false): basicConstraints CA:FALSE, keyUsage
// digitalSignature, extendedKeyUsage serverAuth. Errors throw
// std::runtime_error carrying OpenSSL's error strings.
class TestPki {
 public:
  TestPki();  // a private temp dir (removed in the destructor) and a root CA "CN=smtp_exporter test CA"
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const Issued& root() const;
  // Signed by `issuer` (root() or an intermediate issued with is_ca = true);
  // the issuer's key is read back from its key_file.
  Issued issue(const CertSpec& spec, const Issued& issuer);
  Issued self_signed(const CertSpec& spec);
  // A PEM file with the given certificates concatenated in order (leaf
  // first) for a server to present.
  std::string chain_file(const std::vector<const Issued*>& chain);
  const std::string& dir() const;

 private:
  Issued make(const CertSpec& spec, const Issued* issuer);
  std::string next_path(const char* stem);

  std::string dir_;
  int counter_ = 0;
  Issued root_;
};

}  // namespace smtp_exporter::testing
