// --web.config.file (exporter-toolkit format): YAML → WebConfig, the server
// TLS context, and basic authentication with libxcrypt's bcrypt.
#include "http/web_config.h"

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "smtp_exporter/base64.h"
#include "smtp_exporter/tls_context.h"

namespace smtp_exporter::exporter {
namespace {

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Typed access to one YAML mapping, with positions in errors; finish()
// rejects the keys nobody read.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string path, const std::string& source)
      : node_(node), path_(std::move(path)), source_(source) {
    if (node_ && !node_.IsNull() && !node_.IsMap()) fail(node_, "", "expected a mapping");
  }

  [[noreturn]] void fail(const YAML::Node& at, std::string_view key, std::string_view reason) const {
    std::string where = source_;
    const YAML::Mark mark = at ? at.Mark() : YAML::Mark::null_mark();
    if (!mark.is_null()) where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    std::string name = qualified(key);
    throw WebConfigError(where + ": " + (name.empty() ? "" : name + ": ") + std::string(reason));
  }
  [[noreturn]] void fail(std::string_view key, std::string_view reason) const {
    YAML::Node value = get(key);
    fail(value && !value.IsNull() ? value : key_node(key), key, reason);
  }

  // The value under `key`; an undefined node when absent or null.
  YAML::Node get(std::string_view key) const {
    if (!node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    for (auto it = node_.begin(); it != node_.end(); ++it)
      if (it->first.IsScalar() && it->first.Scalar() == key)
        return it->second.IsNull() ? YAML::Node(YAML::NodeType::Undefined) : it->second;
    return YAML::Node(YAML::NodeType::Undefined);
  }
  YAML::Node take(std::string_view key) {
    seen_.insert(std::string(key));
    return get(key);
  }

  std::optional<std::string> string(std::string_view key) {
    YAML::Node value = take(key);
    if (!value) return std::nullopt;
    if (!value.IsScalar()) fail(key, "expected a string");
    return value.Scalar();
  }
  std::optional<bool> boolean(std::string_view key) {
    YAML::Node value = take(key);
    if (!value) return std::nullopt;
    bool out = false;
    if (!value.IsScalar() || !YAML::convert<bool>::decode(value, out)) fail(key, "expected true or false");
    return out;
  }
  std::vector<std::pair<YAML::Node, std::string>> strings(std::string_view key) {
    YAML::Node value = take(key);
    std::vector<std::pair<YAML::Node, std::string>> out;
    if (!value) return out;
    if (!value.IsSequence()) fail(key, "expected a list of strings");
    for (const auto& element : value) {
      if (!element.IsScalar()) fail(element, key, "expected a list of strings");
      out.emplace_back(element, element.Scalar());
    }
    return out;
  }

  // Rejects unknown keys before anything else is checked, so that a typo is
  // reported as such (not as the key it should have been, missing).
  void only(std::initializer_list<std::string_view> known) const {
    if (!node_.IsMap()) return;
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
      if (std::find(known.begin(), known.end(), key) == known.end()) fail(it->first, key, "unknown key");
    }
  }

  void finish() const {
    if (!node_.IsMap()) return;
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
      if (!seen_.contains(key)) fail(it->first, key, "unknown key");
    }
  }

  std::string qualified(std::string_view key) const {
    if (path_.empty()) return std::string(key);
    if (key.empty()) return path_;
    return path_ + "." + std::string(key);
  }
  const YAML::Node& node() const { return node_; }

 private:
  YAML::Node key_node(std::string_view key) const {
    if (node_.IsMap())
      for (auto it = node_.begin(); it != node_.end(); ++it)
        if (it->first.IsScalar() && it->first.Scalar() == key) return it->first;
    return node_;
  }

  YAML::Node node_;
  std::string path_;
  const std::string& source_;
  std::set<std::string> seen_;
};

std::string resolve(const std::string& base_dir, const std::string& file) {
  if (file.empty() || file.front() == '/' || base_dir.empty()) return file;
  return (std::filesystem::path(base_dir) / file).string();
}

// A file key: resolved, and readable now (so that startup fails early).
std::string read_file_key(MapReader& reader, std::string_view key, const std::string& base_dir) {
  auto value = reader.string(key);
  if (!value || value->empty()) return "";
  std::string path = resolve(base_dir, *value);
  std::ifstream in(path);
  if (!in) reader.fail(key, "cannot read " + in_quotes(path) + ": " + std::strerror(errno));
  return path;
}

config::TlsVersion read_version(MapReader& reader, std::string_view key, config::TlsVersion fallback) {
  auto value = reader.string(key);
  if (!value) return fallback;
  for (auto v : {config::TlsVersion::tls10, config::TlsVersion::tls11, config::TlsVersion::tls12,
                 config::TlsVersion::tls13})
    if (config::to_string(v) == *value) return v;
  reader.fail(key, "invalid value " + in_quotes(*value) + " (expected one of: TLS10, TLS11, TLS12, TLS13)");
}

constexpr std::pair<std::string_view, ClientAuth> kClientAuth[] = {
    {"NoClientCert", ClientAuth::no_client_cert},
    {"RequestClientCert", ClientAuth::request_client_cert},
    {"RequireAnyClientCert", ClientAuth::require_any_client_cert},
    {"VerifyClientCertIfGiven", ClientAuth::verify_client_cert_if_given},
    {"RequireAndVerifyClientCert", ClientAuth::require_and_verify_client_cert}};

// Go's cipher suite names are the IANA names, which OpenSSL can translate
// (Go also knows the ChaCha20 suites without their "_SHA256").
std::optional<std::string> openssl_cipher(const std::string& go_name) {
  for (const std::string& name : {go_name, go_name + "_SHA256"}) {
    const char* openssl = OPENSSL_cipher_name(name.c_str());
    if (openssl != nullptr && std::string_view(openssl) != "(NONE)") return std::string(openssl);
  }
  return std::nullopt;
}

constexpr std::pair<std::string_view, std::string_view> kCurves[] = {
    {"CurveP256", "P-256"}, {"CurveP384", "P-384"}, {"CurveP521", "P-521"}, {"X25519", "X25519"}};

TlsServerConfig read_tls(MapReader& reader, const std::string& base_dir) {
  reader.only({"cert_file", "key_file", "client_ca_file", "cert", "key", "client_ca", "client_auth_type",
               "min_version", "max_version", "cipher_suites", "prefer_server_cipher_suites", "curve_preferences",
               "client_allowed_sans"});
  TlsServerConfig tls;
  tls.cert_file = read_file_key(reader, "cert_file", base_dir);
  tls.key_file = read_file_key(reader, "key_file", base_dir);
  tls.client_ca_file = read_file_key(reader, "client_ca_file", base_dir);
  tls.cert = reader.string("cert").value_or("");
  tls.key = reader.string("key").value_or("");
  tls.client_ca = reader.string("client_ca").value_or("");
  for (auto [inline_key, file_key, inline_value, file_value] :
       {std::tuple{"cert", "cert_file", &tls.cert, &tls.cert_file},
        std::tuple{"key", "key_file", &tls.key, &tls.key_file},
        std::tuple{"client_ca", "client_ca_file", &tls.client_ca, &tls.client_ca_file}}) {
    if (!inline_value->empty() && !file_value->empty())
      reader.fail(inline_key, std::string("give either ") + inline_key + " or " + file_key + ", not both");
  }
  if (tls.cert.empty() && tls.cert_file.empty()) reader.fail("", "cert_file (or cert) is required");
  if (tls.key.empty() && tls.key_file.empty()) reader.fail("", "key_file (or key) is required");

  if (auto type = reader.string("client_auth_type")) {
    bool found = false;
    for (const auto& [name, value] : kClientAuth)
      if (name == *type) tls.client_auth = value, found = true;
    if (!found)
      reader.fail("client_auth_type",
                  "invalid value " + in_quotes(*type) +
                      " (expected one of: NoClientCert, RequestClientCert, RequireAnyClientCert, "
                      "VerifyClientCertIfGiven, RequireAndVerifyClientCert)");
  }
  bool has_ca = !tls.client_ca.empty() || !tls.client_ca_file.empty();
  bool verifies = tls.client_auth == ClientAuth::verify_client_cert_if_given ||
                  tls.client_auth == ClientAuth::require_and_verify_client_cert;
  if (has_ca && tls.client_auth == ClientAuth::no_client_cert)
    reader.fail(tls.client_ca_file.empty() ? "client_ca" : "client_ca_file",
                "a client CA is configured but client_auth_type is NoClientCert "
                "(use RequireAndVerifyClientCert)");
  if (verifies && !has_ca)
    reader.fail("client_auth_type", "verifying client certificates needs client_ca_file (or client_ca)");

  tls.min_version = read_version(reader, "min_version", config::TlsVersion::tls12);
  tls.max_version = read_version(reader, "max_version", config::TlsVersion::tls13);
  if (tls.max_version < tls.min_version) reader.fail("max_version", "must not be lower than min_version");

  for (const auto& [node, name] : reader.strings("cipher_suites")) {
    auto cipher = openssl_cipher(name);
    if (!cipher) reader.fail(node, "cipher_suites", "unknown cipher suite " + in_quotes(name));
    if (name.find("_WITH_") == std::string::npos)
      reader.fail(node, "cipher_suites",
                  in_quotes(name) + " is a TLS 1.3 suite; cipher_suites only applies to TLS 1.2 and below");
    tls.ciphers.push_back(*cipher);
  }
  tls.prefer_server_cipher_suites = reader.boolean("prefer_server_cipher_suites").value_or(true);
  for (const auto& [node, name] : reader.strings("curve_preferences")) {
    const auto* curve = std::find_if(std::begin(kCurves), std::end(kCurves),
                                     [&](const auto& c) { return c.first == name; });
    if (curve == std::end(kCurves))
      reader.fail(node, "curve_preferences",
                  "unknown curve " + in_quotes(name) + " (expected one of: CurveP256, CurveP384, CurveP521, X25519)");
    tls.groups.emplace_back(curve->second);
  }
  if (reader.take("client_allowed_sans"))
    reader.fail("client_allowed_sans", "not supported by smtp_exporter (use a client CA of its own)");
  reader.finish();
  return tls;
}

// exporter-toolkit's list: the headers that may be set, and their allowed
// values where they are an enumeration.
const std::map<std::string, std::vector<std::string>, std::less<>> kHeaders{
    {"Strict-Transport-Security", {}},
    {"X-Content-Type-Options", {"nosniff"}},
    {"X-Frame-Options", {"deny", "sameorigin"}},
    {"X-XSS-Protection", {}},
    {"Content-Security-Policy", {}}};

void read_http(MapReader& reader, WebConfig& web) {
  reader.only({"http2", "headers"});
  if (auto http2 = reader.boolean("http2"); http2 && *http2)
    reader.fail("http2", "HTTP/2 is not supported by smtp_exporter (remove the key or set it to false)");
  YAML::Node headers = reader.take("headers");
  MapReader header_reader(headers, reader.qualified("headers"), web.source);
  if (headers.IsMap()) {
    for (auto it = headers.begin(); it != headers.end(); ++it) {
      std::string name = it->first.IsScalar() ? it->first.Scalar() : "?";
      auto allowed = kHeaders.find(name);
      if (allowed == kHeaders.end())
        header_reader.fail(it->first, name,
                           "this header cannot be set (allowed: Content-Security-Policy, Strict-Transport-Security, "
                           "X-Content-Type-Options, X-Frame-Options, X-XSS-Protection)");
      auto value = header_reader.string(name);
      if (!value || value->empty()) continue;  // blank: unset
      if (value->find_first_of("\r\n") != std::string::npos) header_reader.fail(name, "must be one line");
      const auto& values = allowed->second;
      if (!values.empty() && std::find(values.begin(), values.end(), *value) == values.end()) {
        std::string expected;
        for (const auto& v : values) expected += (expected.empty() ? "" : ", ") + v;
        header_reader.fail(name, "invalid value " + in_quotes(*value) + " (expected one of: " + expected + ")");
      }
      web.headers.emplace_back(name, *value);
    }
  }
  header_reader.finish();
  reader.finish();
}

void read_users(MapReader& reader, WebConfig& web) {
  const YAML::Node& users = reader.node();
  if (!users.IsMap()) return;
  for (auto it = users.begin(); it != users.end(); ++it) {
    if (!it->first.IsScalar()) reader.fail(it->first, "", "user names must be strings");
    std::string user = it->first.Scalar();
    if (user.empty() || user.find(':') != std::string::npos)
      reader.fail(it->first, user, "user names must be non-empty and cannot contain ':'");
    auto hash = reader.string(user);
    if (!hash || !valid_bcrypt_hash(*hash))
      reader.fail(user,
                  "not a bcrypt hash (\"$2y$10$\" and 53 characters; generate one with "
                  "htpasswd -nBC 10 \"\" | tr -d ':\\n')");
    if (int cost = std::stoi(hash->substr(4, 2)); cost > kMaxBcryptCost)
      reader.fail(user, "bcrypt cost " + std::to_string(cost) + " is above the maximum of " +
                            std::to_string(kMaxBcryptCost) +
                            " (every check would cost seconds of CPU; 10 is usual: htpasswd -nBC 10)");
    web.users.emplace(user, *hash);
  }
  reader.finish();
}

std::array<unsigned char, 32> cache_key(const std::string& user, const std::string& hash, const std::string& password) {
  std::string input;
  for (const std::string* part : {&user, &hash}) input += std::to_string(part->size()) + ":" + *part;
  input += password;
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest.data(), &length, EVP_sha256(), nullptr);
  OPENSSL_cleanse(input.data(), input.size());
  return digest;
}

constexpr std::size_t kCacheLimit = 1024;

}  // namespace

WebConfig parse_web_config(std::string_view yaml, const std::string& source, const std::string& base_dir) {
  WebConfig web;
  web.source = source;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    throw WebConfigError(source + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                         ": " + e.msg);
  }
  if (root.IsNull()) return web;  // an empty file: plain HTTP, no authentication
  MapReader top(root, "", web.source);
  top.only({"tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"});
  if (YAML::Node tls = top.take("tls_server_config")) {
    MapReader reader(tls, "tls_server_config", web.source);
    web.tls = read_tls(reader, base_dir);
  }
  if (YAML::Node http = top.take("http_server_config")) {
    MapReader reader(http, "http_server_config", web.source);
    read_http(reader, web);
  }
  if (YAML::Node users = top.take("basic_auth_users")) {
    MapReader reader(users, "basic_auth_users", web.source);
    read_users(reader, web);
  }
  if (top.take("rate_limit"))
    top.fail("rate_limit", "not supported by smtp_exporter (limit requests in a reverse proxy)");
  top.finish();
  return web;
}

WebConfig load_web_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw WebConfigError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_web_config(text.str(), path, std::filesystem::path(path).parent_path().string());
}

std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const TlsServerConfig& tls) {
  namespace ssl = boost::asio::ssl;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, probes::protocol_version(tls.min_version));
  SSL_CTX_set_max_proto_version(ctx, probes::protocol_version(tls.max_version));
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  if (tls.prefer_server_cipher_suites) SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  try {
    if (!tls.cert_file.empty()) {
      context->use_certificate_chain_file(tls.cert_file);
    } else {
      context->use_certificate_chain(boost::asio::buffer(tls.cert));
    }
    if (!tls.key_file.empty()) {
      context->use_private_key_file(tls.key_file, ssl::context::pem);
    } else {
      context->use_private_key(boost::asio::buffer(tls.key), ssl::context::pem);
    }
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("tls_server_config: cannot load the certificate or key: " + e.code().message());
  }
  if (SSL_CTX_check_private_key(ctx) != 1)
    throw std::runtime_error("tls_server_config: the key does not match the certificate");
  if (!tls.ciphers.empty()) {
    std::string list;
    for (const auto& c : tls.ciphers) list += (list.empty() ? "" : ":") + c;
    if (SSL_CTX_set_cipher_list(ctx, list.c_str()) != 1)
      throw std::runtime_error("tls_server_config.cipher_suites: OpenSSL accepts none of them");
  }
  if (!tls.groups.empty()) {
    std::string list;
    for (const auto& g : tls.groups) list += (list.empty() ? "" : ":") + g;
    if (SSL_CTX_set1_groups_list(ctx, list.c_str()) != 1)
      throw std::runtime_error("tls_server_config.curve_preferences: OpenSSL rejects \"" + list + "\"");
  }
  try {
    if (!tls.client_ca_file.empty()) {
      context->load_verify_file(tls.client_ca_file);
      // The CA names sent in the CertificateRequest, so clients pick the right certificate.
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str()))
        SSL_CTX_set_client_CA_list(ctx, names);
    } else if (!tls.client_ca.empty()) {
      context->add_certificate_authority(boost::asio::buffer(tls.client_ca));
    }
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("tls_server_config: cannot load the client CA: " + e.code().message());
  }
  // Needed for session resumption once client certificates are requested.
  static constexpr unsigned char kSessionContext[] = "smtp_exporter";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  auto accept_any = [](int, X509_STORE_CTX*) { return 1; };  // asked for, not verified (Go semantics)
  switch (tls.client_auth) {
    case ClientAuth::no_client_cert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuth::request_client_cert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any);
      break;
    case ClientAuth::require_any_client_cert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
      break;
    case ClientAuth::verify_client_cert_if_given:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      break;
    case ClientAuth::require_and_verify_client_cert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  return context;
}

bool valid_bcrypt_hash(std::string_view hash) {
  if (hash.size() != 60 || !hash.starts_with("$2") || hash[3] != '$' || hash[6] != '$') return false;
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (!std::isdigit(static_cast<unsigned char>(hash[4])) || !std::isdigit(static_cast<unsigned char>(hash[5])))
    return false;
  int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (char c : hash.substr(7))
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '/')) return false;
  return true;
}

bool bcrypt_matches(const std::string& password, const std::string& hash) {
  if (!valid_bcrypt_hash(hash) || password.find('\0') != std::string::npos) return false;
  auto data = std::make_unique<crypt_data>();  // 32 KiB: not on a coroutine's stack
  const char* result = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof *data);
  bool ok = result != nullptr && std::strlen(result) == hash.size() &&
            CRYPTO_memcmp(result, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof *data);
  return ok;
}

namespace {

int bcrypt_cost(const std::string& hash) { return (hash[4] - '0') * 10 + (hash[5] - '0'); }

// "Basic BASE64(user:password)" into `out`; false when the header is not that.
bool parse_basic(std::string_view header, BasicAuth::Credentials& out) {
  auto space = header.find(' ');
  if (space == std::string_view::npos) return false;
  std::string scheme(header.substr(0, space));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view encoded = header.substr(space + 1);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  if (scheme != "basic") return false;
  auto decoded = base64_decode(encoded);
  if (!decoded) return false;
  auto colon = decoded->find(':');
  bool found = colon != std::string::npos;
  if (found) out = BasicAuth::Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
  OPENSSL_cleanse(decoded->data(), decoded->size());
  return found;
}

// Wipes the password when the credentials go out of scope, wherever that is.
struct Wiped {
  BasicAuth::Credentials& credentials;
  ~Wiped() { OPENSSL_cleanse(credentials.password.data(), credentials.password.size()); }
};

}  // namespace

boost::asio::awaitable<bool> BasicAuth::verify_on(BasicAuth* self, Credentials credentials,
                                                  std::array<unsigned char, 32> key) {
  Wiped wipe{credentials};
  co_return self->verify(credentials, key);
}

// A source's budget of failed checks (a token bucket) and its checks in flight.
struct BasicAuth::Source {
  double tokens = kFailureBurst;
  std::chrono::steady_clock::time_point updated = std::chrono::steady_clock::now();
  int in_flight = 0;

  void refill(std::chrono::steady_clock::time_point now) {
    std::chrono::duration<double> elapsed = now - updated;
    tokens = std::min<double>(kFailureBurst, tokens + elapsed.count() * kFailuresPerSecond);
    updated = now;
  }
};

BasicAuth::BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {
  for (const auto& [user, hash] : users_)
    if (costliest_hash_.empty() || bcrypt_cost(hash) > bcrypt_cost(costliest_hash_)) costliest_hash_ = hash;
}

BasicAuth::~BasicAuth() = default;

const std::string& BasicAuth::hash_for(const std::string& user) const {
  auto known = users_.find(user);
  return known != users_.end() ? known->second : costliest_hash_;
}

std::optional<bool> BasicAuth::lookup(const std::array<unsigned char, 32>& key, bool known) const {
  std::lock_guard lock(mutex_);
  if (known && verified_.contains(key)) return true;
  if (wrong_.contains(key)) return false;
  return std::nullopt;
}

bool BasicAuth::verify(const Credentials& credentials, const std::array<unsigned char, 32>& key) {
  bool known = users_.contains(credentials.user);
  bool ok = bcrypt_matches(credentials.password, hash_for(credentials.user)) && known;
  std::lock_guard lock(mutex_);
  ++bcrypt_runs_;
  auto& cache = ok ? verified_ : wrong_;
  if (cache.size() >= kCacheLimit) cache.clear();
  cache.insert(key);
  return ok;
}

std::optional<bool> BasicAuth::answer_without_bcrypt(std::string_view header, Credentials& credentials,
                                                     std::array<unsigned char, 32>& key) const {
  if (users_.empty()) return true;
  if (!parse_basic(header, credentials)) return false;
  key = cache_key(credentials.user, hash_for(credentials.user), credentials.password);
  return lookup(key, users_.contains(credentials.user));
}

bool BasicAuth::authorize(std::string_view header) {
  Credentials credentials;
  Wiped wipe{credentials};
  std::array<unsigned char, 32> key{};
  if (auto answer = answer_without_bcrypt(header, credentials, key)) return *answer;
  return verify(credentials, key);
}

boost::asio::awaitable<BasicAuth::Verdict> BasicAuth::check(std::string_view header, std::string source,
                                                            boost::asio::any_io_executor pool) {
  Credentials credentials;
  Wiped wipe{credentials};
  std::array<unsigned char, 32> key{};
  if (auto answer = answer_without_bcrypt(header, credentials, key))
    co_return *answer ? Verdict::allowed : Verdict::denied;

  {  // Admission: a bcrypt for this source now, or throttled.
    std::lock_guard lock(mutex_);
    if (sources_.size() > 4096) {  // forget the sources whose budget is whole again
      auto now = std::chrono::steady_clock::now();
      for (auto it = sources_.begin(); it != sources_.end();) {
        it->second.refill(now);
        bool whole = it->second.in_flight == 0 && it->second.tokens >= kFailureBurst;
        it = whole ? sources_.erase(it) : std::next(it);
      }
    }
    Source& s = sources_[source];
    s.refill(std::chrono::steady_clock::now());
    if (pending_ >= kMaxPending || s.in_flight >= kInFlightPerSource || s.tokens < 1) co_return Verdict::throttled;
    ++pending_;
    ++s.in_flight;
  }
  // On the pool: the event loop goes on with probes and scrapes meanwhile.
  // The job owns copies of what it needs, and `this` is kept alive by the
  // caller's shared_ptr for as long as this coroutine waits. (Named values
  // only in the co_await: GCC 12 destroys temporaries there twice, PR 100611.)
  boost::asio::awaitable<bool> job = verify_on(this, credentials, key);
  boost::asio::awaitable<bool> done = boost::asio::co_spawn(pool, std::move(job), boost::asio::use_awaitable);
  bool ok = co_await std::move(done);
  {
    std::lock_guard lock(mutex_);
    --pending_;
    Source& s = sources_[source];
    --s.in_flight;
    if (!ok) s.tokens -= 1;
  }
  co_return ok ? Verdict::allowed : Verdict::denied;
}

std::size_t BasicAuth::cached() const {
  std::lock_guard lock(mutex_);
  return verified_.size();
}

std::size_t BasicAuth::rejected() const {
  std::lock_guard lock(mutex_);
  return wrong_.size();
}

std::size_t BasicAuth::bcrypt_runs() const {
  std::lock_guard lock(mutex_);
  return bcrypt_runs_;
}

}  // namespace smtp_exporter::exporter
