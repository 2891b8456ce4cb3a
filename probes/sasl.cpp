// SASL for SMTP AUTH (sasl.h).
#include "sasl.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>

namespace smtp_exporter::probes {

std::string cram_md5_response(std::string_view user, std::string_view password, std::string_view challenge) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_md5(), password.data(), static_cast<int>(password.size()),
       reinterpret_cast<const unsigned char*>(challenge.data()), challenge.size(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(user);
  out += ' ';
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

std::string choose_mechanism(const std::vector<std::string>& preferred, const std::vector<std::string>& offered) {
  auto upper = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  };
  for (const auto& want : preferred)
    for (const auto& have : offered)
      if (upper(have) == upper(want)) return upper(want);
  return {};
}

}  // namespace smtp_exporter::probes
