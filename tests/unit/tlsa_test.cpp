// TLSA rdata parsing and our own per-record match (probes/tlsa.h), against
// certificates made at run time.
#include "tlsa.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../integration/test_pki.h"

namespace smtp_exporter::probes {
namespace {

using testing::CertSpec;
using testing::TestPki;

Bytes der_of(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  Bytes out(der, der + n);
  OPENSSL_free(der);
  X509_free(cert);
  return out;
}

// SHA-256 of the public key, computed the way `openssl x509 -pubkey | openssl
// pkey -pubin -outform DER | openssl dgst -sha256` does (i2d_PUBKEY of the EVP_PKEY).
Bytes spki_sha256(const Bytes& der) {
  const unsigned char* p = der.data();
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  EVP_PKEY* key = X509_get0_pubkey(cert);
  unsigned char* spki = nullptr;
  int n = i2d_PUBKEY(key, &spki);
  Bytes digest(32);
  unsigned int length = 0;
  EVP_Digest(spki, static_cast<std::size_t>(n), digest.data(), &length, EVP_sha256(), nullptr);
  OPENSSL_free(spki);
  X509_free(cert);
  return digest;
}

TlsaRecord record(int usage, int selector, int mtype, Bytes data) {
  return {static_cast<std::uint8_t>(usage), static_cast<std::uint8_t>(selector), static_cast<std::uint8_t>(mtype),
          std::move(data)};
}

TEST(TlsaRdata, ParsesTheThreeFieldsAndTheData) {
  Bytes wire{3, 1, 1};
  for (int i = 0; i < 32; ++i) wire.push_back(static_cast<unsigned char>(i));
  auto r = parse_tlsa_rdata(wire.data(), wire.size());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->usage, 3);
  EXPECT_EQ(r->selector, 1);
  EXPECT_EQ(r->matching_type, 1);
  EXPECT_EQ(r->data.size(), 32u);
  EXPECT_EQ(to_text(*r).substr(0, 14), "3 1 1 00010203");
}

TEST(TlsaRdata, RejectsShortRdataAndDigestsOfTheWrongLength) {
  Bytes three{3, 1, 1};
  EXPECT_FALSE(parse_tlsa_rdata(three.data(), three.size()));
  EXPECT_FALSE(parse_tlsa_rdata(nullptr, 0));
  Bytes short_sha256{3, 1, 1};
  short_sha256.resize(3 + 31, 0xab);
  EXPECT_FALSE(parse_tlsa_rdata(short_sha256.data(), short_sha256.size()));
  Bytes sha512{3, 1, 2};
  sha512.resize(3 + 64, 0xab);
  EXPECT_TRUE(parse_tlsa_rdata(sha512.data(), sha512.size()));
  sha512.push_back(0);
  EXPECT_FALSE(parse_tlsa_rdata(sha512.data(), sha512.size()));
  Bytes exact{3, 0, 0, 0x30};
  EXPECT_TRUE(parse_tlsa_rdata(exact.data(), exact.size()));  // any length for full data
  Bytes unknown_type{3, 1, 9, 1, 2};
  EXPECT_TRUE(parse_tlsa_rdata(unknown_type.data(), unknown_type.size()));  // kept, then unusable
}

TEST(TlsaUsable, OnlyDaneTaAndDaneEeWithKnownSelectorAndMatchingType) {
  EXPECT_TRUE(usable(record(3, 1, 1, {})));
  EXPECT_TRUE(usable(record(2, 0, 2, {})));
  EXPECT_TRUE(usable(record(3, 0, 0, {})));
  EXPECT_FALSE(usable(record(0, 1, 1, {})));
  EXPECT_FALSE(usable(record(1, 1, 1, {})));
  EXPECT_FALSE(usable(record(4, 1, 1, {})));
  EXPECT_FALSE(usable(record(3, 2, 1, {})));
  EXPECT_FALSE(usable(record(3, 1, 3, {})));
}

class TlsaMatch : public ::testing::Test {
 protected:
  TestPki pki;
  testing::Issued leaf_cert = pki.issue(leaf_spec(), pki.root());
  static CertSpec leaf_spec() {
    CertSpec spec;
    spec.common_name = "mail.dane.lab";
    spec.dns_names = {"mail.dane.lab"};
    return spec;
  }
  Bytes leaf = der_of(leaf_cert.cert_pem);
  Bytes root = der_of(pki.root().cert_pem);
  std::vector<Bytes> chain{leaf, root};
};

TEST_F(TlsaMatch, SelectorOneSha256IsTheDigestOfTheSubjectPublicKeyInfo) {
  EXPECT_EQ(association(1, 1, leaf), spki_sha256(leaf));
  EXPECT_EQ(association(0, 0, leaf), leaf);
  EXPECT_EQ(association(0, 2, leaf).size(), 64u);
  EXPECT_TRUE(association(1, 1, Bytes{1, 2, 3}).empty());  // not a certificate
}

TEST_F(TlsaMatch, DaneEeMatchesTheLeafOnly) {
  EXPECT_EQ(match_depth(record(3, 1, 1, spki_sha256(leaf)), chain), 0);
  EXPECT_EQ(match_depth(record(3, 0, 1, association(0, 1, leaf)), chain), 0);
  EXPECT_EQ(match_depth(record(3, 1, 2, association(1, 2, leaf)), chain), 0);
  EXPECT_EQ(match_depth(record(3, 0, 0, leaf), chain), 0);
  EXPECT_EQ(match_depth(record(3, 1, 1, spki_sha256(root)), chain), -1);  // the issuer is no end entity
  Bytes wrong = spki_sha256(leaf);
  wrong[0] ^= 1;
  EXPECT_EQ(match_depth(record(3, 1, 1, wrong), chain), -1);
}

TEST_F(TlsaMatch, DaneTaMatchesAnIssuerAtItsDepth) {
  EXPECT_EQ(match_depth(record(2, 1, 1, spki_sha256(root)), chain), 1);
  EXPECT_EQ(match_depth(record(2, 0, 1, association(0, 1, leaf)), chain), -1);  // the leaf is no anchor
  EXPECT_EQ(match_depth(record(2, 1, 1, spki_sha256(root)), {leaf}), -1);      // the issuer was not sent
}

TEST_F(TlsaMatch, RolloverReadyNeedsAMatchAndEitherANextKeyOrATaBesideTheEe) {
  auto now = record(3, 1, 1, spki_sha256(leaf));
  auto next = record(3, 1, 1, Bytes(32, 0x42));
  auto ta = record(2, 1, 1, spki_sha256(root));
  auto pkix = record(1, 1, 1, Bytes(32, 0x42));
  EXPECT_FALSE(rollover_ready({now}, {0}));
  EXPECT_TRUE(rollover_ready({now, next}, {0, -1}));
  EXPECT_FALSE(rollover_ready({now, record(3, 0, 1, association(0, 1, leaf))}, {0, 0}));  // the same key twice
  EXPECT_TRUE(rollover_ready({now, ta}, {0, 1}));
  EXPECT_FALSE(rollover_ready({now, pkix}, {0, -1}));  // an unusable record is no next key
  EXPECT_FALSE(rollover_ready({next}, {-1}));
  EXPECT_FALSE(rollover_ready({next, next}, {-1, -1}));
}

}  // namespace
}  // namespace smtp_exporter::probes
