// [modules.NAME.receive]: the mailbox where the `receive` unit looks for the
// test message of [send] (docs/delivery.md).
//
//   [modules.submission.receive]
//   imap = "imap.example.org:993"   # or maildir = "/var/mail/vhosts/example.org/probe"
//   tls = "implicit"                # or "starttls"
//   username = "probe@example.org"
//   password_env = "IMAP_PASSWORD"  # or password_file; never shown
//   junk_folder = "Junk"            # default: the folder LIST flags \Junk
//   authserv_id = "mx.example.org"  # Authentication-Results of this id only
//   timeout = "60s"
//   poll_interval = "1s"            # when IDLE is not offered
//   [modules.submission.receive.tls_config]
//   ca_file = "ca.pem"
#include <cctype>

#include "module_reader.h"
#include "table_reader.h"
#include "toml_writer.h"

namespace smtp_exporter::config {
namespace {

constexpr std::pair<std::string_view, ReceiveConfig::ImapTls> kImapTls[] = {
    {"implicit", ReceiveConfig::ImapTls::implicit}, {"starttls", ReceiveConfig::ImapTls::starttls}};

// "host:port" or "[v6]:port"; false when malformed.
bool split_host_port(const std::string& text, std::string& host, std::uint16_t& port) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) return false;
  host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return false;  // an IPv6 address needs brackets
  }
  for (char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_')) return false;
  std::string digits = text.substr(colon + 1);
  if (digits.size() > 5) return false;
  long value = 0;
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

Duration positive_duration(TableReader& reader, std::string_view key, Duration value) {
  auto text = reader.string(key);
  if (!text) return value;
  auto d = parse_duration(*text);
  if (!d) reader.fail(key, "invalid duration \"" + *text + "\" (use e.g. \"1s\", \"60s\")");
  if (*d <= Duration::zero()) reader.fail(key, "must be greater than 0");
  return *d;
}

}  // namespace

ReceiveConfig read_receive(const toml::table& table, const std::string& path, const std::string& file,
                           Secrets secrets) {
  TableReader reader(table, path, file);
  ReceiveConfig r;
  auto imap = reader.string("imap");
  auto maildir = reader.string("maildir");
  if (imap && maildir) reader.fail("maildir", "give exactly one of imap and maildir");
  if (!imap && !maildir) reader.fail("", "one of imap and maildir is required");
  if (imap) {
    if (!split_host_port(*imap, r.imap_host, r.imap_port))
      reader.fail("imap", "\"" + *imap + "\" is not HOST:PORT (an IPv6 address in brackets)");
    r.imap = *imap;
    if (auto tls = reader.string("tls")) r.tls = parse_enum(reader, "tls", *tls, kImapTls);
    if (const toml::table* tls_config = reader.table("tls_config"))
      r.tls_config = read_tls_config(*tls_config, reader.qualified("tls_config"), file);
    read_credentials(reader, r, secrets, "username is required with imap");
    if (r.password.find_first_of("\r\n") != std::string::npos ||
        (r.password.empty() && r.password_error.empty()))
      reader.fail(r.password_file.empty() ? "password_env" : "password_file",
                  "the password must be one non-empty line; it is not shown");
    if (auto junk = reader.string("junk_folder")) {
      if (junk->empty()) reader.fail("junk_folder", "must not be empty (leave it out to use the \\Junk folder)");
      r.junk_folder = *junk;
    }
  } else {
    if (maildir->empty()) reader.fail("maildir", "must not be empty");
    r.maildir = *maildir;
    for (std::string_view key : {"tls", "tls_config", "username", "password_file", "password_env", "junk_folder"})
      if (table.contains(key)) reader.fail(key, "only with imap");
  }
  r.timeout = positive_duration(reader, "timeout", r.timeout);
  r.poll_interval = positive_duration(reader, "poll_interval", r.poll_interval);
  if (r.poll_interval > r.timeout) reader.fail("poll_interval", "must not be longer than timeout");
  if (auto id = reader.string("authserv_id")) {
    if (id->empty() || id->find_first_of(" ;()\"") != std::string::npos)
      reader.fail("authserv_id", "must be the receiver's authserv-id (a host name, no spaces)");
    r.authserv_id = *id;
  }
  reader.finish();
  return r;
}

std::string receive_to_toml(const std::string& module_name, const ReceiveConfig& r) {
  toml::table t{{"timeout", format_duration(r.timeout)}, {"poll_interval", format_duration(r.poll_interval)}};
  if (!r.authserv_id.empty()) t.insert("authserv_id", r.authserv_id);
  if (!r.maildir.empty()) t.insert("maildir", r.maildir);
  if (!r.imap.empty()) {
    t.insert("imap", r.imap);
    t.insert("tls", r.tls == ReceiveConfig::ImapTls::implicit ? "implicit" : "starttls");
    insert_credentials(t, r);
    if (!r.junk_folder.empty()) t.insert("junk_folder", r.junk_folder);
    t.insert("tls_config", tls_config_table(r.tls_config));
  }
  std::string out = "[modules." + toml_key(module_name) + ".receive]\n";
  std::string body = toml_text(toml::table{{"receive", std::move(t)}});
  // toml_text writes "[receive]" and "[receive.tls_config]" headers: qualify them.
  std::string qualified;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t end = body.find('\n', pos);
    std::string line = body.substr(pos, end == std::string::npos ? std::string::npos : end - pos + 1);
    pos = end == std::string::npos ? body.size() : end + 1;
    std::size_t indent = line.find_first_not_of(' ');
    if (indent != std::string::npos && line.compare(indent, 9, "[receive]") == 0) continue;
    if (indent != std::string::npos && line.compare(indent, 9, "[receive.") == 0)
      line = "[modules." + toml_key(module_name) + "." + line.substr(indent + 1);
    qualified += line;
  }
  return out + qualified;
}

}  // namespace smtp_exporter::config
