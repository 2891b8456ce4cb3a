// End-to-end delivery. After the send unit's 250 to DATA, the host unit
// `receive` looks for the message in the mailbox of [receive]: by its
// X-Smtp-Exporter-Token header (IMAP UID SEARCH HEADER, or the Maildir
// files' headers), never by subject; in INBOX and in the Junk folder
// (SPECIAL-USE \Junk, RFC 6154, or junk_folder by name). It waits with IMAP
// IDLE when offered (INBOX; Junk is searched again every poll_interval) or
// polls, and with inotify for a Maildir. The round trip runs from the 250 to
// the moment the search sees the message. The receiver's verdict comes from
// Authentication-Results of the configured authserv_id only (RFC 8601 §5).
//
// Cleanup: the message found is deleted (UID STORE +FLAGS.SILENT (\Deleted),
// then UID EXPUNGE with UIDPLUS, else EXPUNGE). The first search of every
// check looks for every message with the header; one whose sent= time is
// older than the receive timeout is a leftover of an earlier check (it came
// after that check gave up, or its cleanup failed): it is deleted and counted
// as late. Younger ones belong to checks still waiting (another scrape) and
// are left alone. docs/delivery.md.
#include "checks/receive.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <mutex>

#include "imap_client.h"
#include "smtp_exporter/report.h"
#include "maildir.h"
#include "test_message.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;
constexpr std::string_view kName = "receive";
// Left of the probe's deadline for the cleanup and LOGOUT after waiting:
// half a second, or a tenth of a short deadline (a 1 s scrape).
std::chrono::milliseconds reserve(const Deadline& deadline) {
  return std::min(std::chrono::milliseconds(500), deadline.budget() / 10);
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void note(ProbeResult& result, LogEntry::Kind kind, std::string text) {
  result.log.push_back({std::chrono::system_clock::now(), kind, std::move(text)});
}

void fail(ProbeResult& result, FailureReason reason, std::string detail) {
  note(result, LogEntry::Kind::error, "receive failed (" + std::string(to_string(reason)) + "): " + detail);
  if (!result.failure) result.failure = Failure{Stage::receive, reason, std::move(detail)};
}

// What one message with our header is to this check.
enum class Ours { current, leftover, young };
Ours classify(std::string_view header_block, const std::string& token, std::int64_t oldest_unix) {
  auto parsed = parse_token_header(token_header_in(header_block));
  if (!parsed) return Ours::young;  // not written by us: never deleted
  if (parsed->token == token) return Ours::current;
  if (parsed->sent_unix > 0 && parsed->sent_unix < oldest_unix) return Ours::leftover;
  return Ours::young;
}

// The TLS context of an IMAP server's tls_config, built once per setting.
std::shared_ptr<TlsContext> imap_tls_context(const config::TlsConfig& tls) {
  static std::mutex mutex;
  static std::vector<std::pair<config::TlsConfig, std::shared_ptr<TlsContext>>> built;
  std::lock_guard lock(mutex);
  for (const auto& [config, context] : built)
    if (config == tls) return context;
  auto context = make_tls_context(tls, true);  // built now: its errors are this check's
  if (built.size() > 64) built.erase(built.begin());
  built.emplace_back(tls, context);
  return context;
}

// Deletes a message file. An IMAP server sharing the Maildir (Dovecot) may
// have moved it from new/ to cur/ meanwhile, adding ":2,FLAGS" to its name:
// then the file of the same unique name in cur/ is deleted.
bool remove_maildir_message(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::remove(path, ec) && !ec) return true;
  fs::path p(path);
  std::string unique = p.filename().string();
  unique = unique.substr(0, unique.find(':'));
  fs::path cur = p.parent_path().parent_path() / "cur";
  for (fs::directory_iterator it(cur, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.substr(0, name.find(':')) == unique) {
      std::error_code removed;
      return fs::remove(it->path(), removed) && !removed;
    }
  }
  return false;
}

struct Found {
  std::string folder;  // "inbox" / "junk"
  std::string header;
  SteadyClock::time_point at;
};

// One IMAP check: login, folders, the searches, the cleanup.
class ImapCheck {
 public:
  ImapCheck(ImapClient& client, const config::ReceiveConfig& config, ProbeResult& result, ReceiveSection& section)
      : client_(client), config_(config), result_(result), section_(section) {}

  asio::awaitable<bool> folders() {
    std::vector<imap::Response> untagged;
    bool extended = client_.has("SPECIAL-USE") && client_.has("LIST-EXTENDED");
    std::string list = extended ? "LIST \"\" \"*\" RETURN (SPECIAL-USE)" : "LIST \"\" \"*\"";
    auto reply = co_await client_.command(list, untagged);
    if (!reply) co_return false;
    if (reply->status != "OK") {
      fail(result_, FailureReason::imap_error, "LIST refused: " + reply->text);
      co_return false;
    }
    folders_.push_back({"inbox", "INBOX"});
    for (const auto& r : untagged) {
      auto entry = imap::list_entry(r);
      if (!entry || entry->has_flag("\\Noselect") || entry->has_flag("\\NonExistent")) continue;
      bool junk = config_.junk_folder.empty() ? entry->has_flag("\\Junk") : entry->name == config_.junk_folder;
      if (junk && folders_.size() == 1) folders_.push_back({"junk", entry->name});
    }
    if (folders_.size() == 1)
      note(result_, LogEntry::Kind::info,
           config_.junk_folder.empty() ? "IMAP: no folder flagged \\Junk: searching INBOX only"
                                       : "IMAP: junk_folder " + config_.junk_folder + " not listed: searching INBOX only");
    co_return true;
  }

  // Searches every folder once: `all` for every message with the header
  // (the first round: leftovers too), else for the token.
  asio::awaitable<bool> round(bool all, const std::string& token) {
    for (const auto& [label, name] : folders_) {
      if (!co_await select(name)) co_return false;
      std::vector<imap::Response> untagged;
      std::string search = "UID SEARCH HEADER X-Smtp-Exporter-Token " + (all ? std::string("\"\"") : token);
      auto reply = co_await client_.command(search, untagged);
      if (!reply) co_return false;
      if (reply->status != "OK") {
        fail(result_, FailureReason::imap_error, "UID SEARCH refused: " + reply->text);
        co_return false;
      }
      auto seen = SteadyClock::now();
      std::vector<std::uint32_t> uids;
      for (const auto& r : untagged)
        if (auto numbers = imap::search_numbers(r)) uids.insert(uids.end(), numbers->begin(), numbers->end());
      if (uids.empty()) continue;
      if (uids.size() > 500) uids.resize(500);  // the rest at the next check
      untagged.clear();
      std::string fetch = "UID FETCH " + uid_set(uids) +
                          " (UID BODY.PEEK[HEADER.FIELDS (X-Smtp-Exporter-Token Authentication-Results)])";
      reply = co_await client_.command(fetch, untagged);
      if (!reply) co_return false;
      if (reply->status != "OK") {
        fail(result_, FailureReason::imap_error, "UID FETCH refused: " + reply->text);
        co_return false;
      }
      std::vector<std::uint32_t> remove;
      const std::int64_t oldest = unix_now() - std::chrono::duration_cast<std::chrono::seconds>(config_.timeout).count();
      for (const auto& r : untagged) {
        auto data = imap::fetch_data(r);
        if (!data || !data->uid) continue;
        // SEARCH HEADER matches substrings: the exact token decides.
        switch (classify(data->header, token, oldest)) {
          case Ours::current:
            if (!found_) found_ = Found{label, data->header, seen};
            remove.push_back(*data->uid);
            break;
          case Ours::leftover:
            ++section_.late;
            remove.push_back(*data->uid);
            break;
          case Ours::young: break;
        }
      }
      if (!remove.empty() && !co_await expunge(remove)) co_return false;
    }
    co_return true;
  }

  asio::awaitable<bool> select(const std::string& name) {
    if (selected_ == name) co_return true;
    auto quoted = imap::quote(name);
    if (!quoted) {
      fail(result_, FailureReason::imap_error, "folder name not usable");
      co_return false;
    }
    std::vector<imap::Response> untagged;
    std::string select = "SELECT " + *quoted;
    auto reply = co_await client_.command(select, untagged);
    if (!reply) co_return false;
    if (reply->status != "OK") {
      fail(result_, FailureReason::imap_error, "SELECT " + name + " refused: " + reply->text);
      co_return false;
    }
    selected_ = name;
    co_return true;
  }

  asio::awaitable<bool> expunge(const std::vector<std::uint32_t>& uids) {
    std::vector<imap::Response> untagged;
    std::string set = uid_set(uids);
    std::string store = "UID STORE " + set + " +FLAGS.SILENT (\\Deleted)";
    auto reply = co_await client_.command(store, untagged);
    if (!reply) co_return false;
    if (reply->status != "OK") {
      fail(result_, FailureReason::imap_error, "UID STORE refused: " + reply->text);
      co_return false;
    }
    // Without UIDPLUS, EXPUNGE also removes what others flagged \Deleted in
    // this folder: the mailbox should be the probe's own (docs/delivery.md).
    std::string expunge = client_.has("UIDPLUS") ? "UID EXPUNGE " + set : std::string("EXPUNGE");
    reply = co_await client_.command(expunge, untagged);
    if (!reply) co_return false;
    if (reply->status != "OK") {
      fail(result_, FailureReason::imap_error, "EXPUNGE refused: " + reply->text);
      co_return false;
    }
    section_.removed += static_cast<int>(uids.size());
    co_return true;
  }

  const std::optional<Found>& found() const { return found_; }

 private:
  static std::string uid_set(const std::vector<std::uint32_t>& uids) {
    std::string out;
    for (auto uid : uids) out += (out.empty() ? "" : ",") + std::to_string(uid);
    return out;
  }

  ImapClient& client_;
  const config::ReceiveConfig& config_;
  ProbeResult& result_;
  ReceiveSection& section_;
  std::vector<std::pair<std::string, std::string>> folders_;  // label, name
  std::string selected_;
  std::optional<Found> found_;
};

class Receive final : public Check {
 public:
  std::string_view name() const override { return kName; }
  bool enabled(const config::Module& module) const override { return module.receive.has_value() && module.send.has_value(); }

  asio::awaitable<Next> run(CheckContext& context) const override {
    ProbeResult& result = context.result;
    if (!result.message_accepted || !result.message_accepted_at) co_return Next::go_on;  // nothing was sent
    const config::ReceiveConfig& config = *context.request.module.receive;
    ReceiveSection section;
    section.mode = config.maildir.empty() ? "imap" : "maildir";
    const SteadyClock::time_point accepted = *result.message_accepted_at;
    SteadyClock::time_point wait_end = std::min(accepted + config.timeout, context.deadline.at() - reserve(context.deadline));
    std::optional<Found> found;
    if (config.maildir.empty()) {
      found = co_await run_imap(context, config, section, wait_end);
    } else {
      found = co_await run_maildir(context, config, section, wait_end);
    }
    if (found) {
      section.found = true;
      section.folder = found->folder;
      section.roundtrip_seconds = std::chrono::duration<double>(found->at - accepted).count();
      section.auth_results = trusted_auth_results(found->header, config.authserv_id);
      note(result, LogEntry::Kind::info,
           "Delivered to " + section.folder + " after " + std::to_string(*section.roundtrip_seconds) + "s");
      // Arrived, but the receiver filed it as spam: a failure of its own,
      // whose health is degraded (health.cpp: failure_severity).
      if (section.folder == "junk" && !result.failure)
        fail(result, FailureReason::delivered_to_junk,
             "the message (token " + result.message_token + ") was delivered to the Junk folder");
    } else {
      section.folder = "none";
      if (!result.failure)
        fail(result, FailureReason::not_delivered,
             "the message (token " + result.message_token + ") was not in the mailbox " +
                 config::format_duration(std::chrono::duration_cast<config::Duration>(wait_end - accepted)) +
                 " after the 250 to DATA");
    }
    if (section.late > 0) {
      note(result, LogEntry::Kind::info, "Removed " + std::to_string(section.late) + " late test message(s) of earlier checks");
    }
    result.sections.insert_or_assign(std::string(kName), std::move(section));
    co_return Next::go_on;
  }

  void series(const ProbeResult& r, std::vector<Series>& out) const override {
    const auto* s = section<ReceiveSection>(r, kName);
    if (!s) return;
    out.push_back({"probe_smtp_delivery_success", "Whether the test message was found in the mailbox within the receive timeout.",
                   {}, s->found ? 1.0 : 0.0});
    if (s->roundtrip_seconds)
      out.push_back({"probe_smtp_delivery_roundtrip_seconds",
                     "Time from the 250 to DATA until the test message was visible in the mailbox.", {},
                     *s->roundtrip_seconds});
    for (std::string_view folder : {"inbox", "junk", "none"})
      out.push_back({"probe_smtp_delivery_folder", "Where the test message was found (inbox, junk, or none).",
                     {{"folder", std::string(folder)}}, s->folder == folder ? 1.0 : 0.0});
    for (const auto& a : s->auth_results)
      out.push_back({"probe_smtp_delivery_auth_result",
                     "Results in the received message's Authentication-Results of the configured authserv_id.",
                     {{"method", a.method}, {"result", a.result}}, 1});
    out.push_back({"probe_smtp_delivery_late_messages",
                   "Test messages of earlier checks that arrived after their timeout, removed by this one.", {},
                   double(s->late)});
  }

  // Where the message arrived and when, what the receiver decided, what was cleaned up.
  void report(const ProbeResult& r, const config::Module&, Report& out) const override {
    const auto* s = section<ReceiveSection>(r, kName);
    if (!s) return;
    Fact fact{"Delivery", {}};
    std::string where = s->mode == "imap" ? "over IMAP" : "in the Maildir";
    fact.lines.push_back(s->found ? "found " + where + " in " + s->folder +
                                        (s->roundtrip_seconds ? " after " + milliseconds_text(*s->roundtrip_seconds) : "")
                                  : "not found " + where);
    std::vector<std::string> results;
    for (const auto& a : s->auth_results) results.push_back(safe_text(a.method + "=" + a.result));
    if (!results.empty()) fact.lines.push_back("Authentication-Results: " + join(results, ", "));
    if (s->removed || s->late)
      fact.lines.push_back("removed " + std::to_string(s->removed) + " test message(s), " + std::to_string(s->late) +
                           " of them late");
    out.facts.push_back(std::move(fact));
    Json auth = Json::array();
    for (const auto& a : s->auth_results) auth.push_back({{"method", json_text(a.method)}, {"result", json_text(a.result)}});
    out.check["delivery"] = {{"mode", s->mode},
                             {"found", s->found},
                             {"folder", s->folder},
                             {"roundtripSeconds", s->roundtrip_seconds ? json_number(*s->roundtrip_seconds) : Json(nullptr)},
                             {"authResults", std::move(auth)},
                             {"removed", s->removed},
                             {"late", s->late}};
    out.healthz["delivered"] = s->found;
    if (s->roundtrip_seconds) out.healthz["deliveryRoundtripMs"] = rounded(*s->roundtrip_seconds * 1000, "%.2f");
  }

  void findings(const ProbeResult& r, const config::Module&, std::vector<Finding>& out) const override {
    const auto* s = section<ReceiveSection>(r, kName);
    if (!s) return;
    // Junk is the failure delivered_to_junk (degraded), not a finding: reported once.
    for (const auto& a : s->auth_results)
      if (a.method == "dmarc" && a.result != "pass" && a.result != "none")
        out.push_back({"delivery/dmarc_fail", Health::degraded, "the receiver's DMARC result was " + a.result});
    if (s->late > 0)
      out.push_back({"delivery/late", Health::degraded,
                     std::to_string(s->late) + " test message(s) of earlier checks arrived after their timeout"});
  }

  const std::vector<Remediation>& remediations() const override;

  // Per agent target on /metrics (the agent keeps the totals, labelled by
  // target): the round trips seen (a histogram) and the late messages removed.
  void tally(const ProbeResult& r, std::vector<Series>& totals) const override {
    const auto* s = section<ReceiveSection>(r, kName);
    if (!s) return;
    static const std::vector<double> kBuckets{0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300};
    Series& histogram = total(totals, "smtp_exporter_delivery_roundtrip_seconds",
                              "Time from the 250 to DATA until the test message was visible in the mailbox, of every "
                              "delivery check of the agent target.",
                              kBuckets);
    if (s->roundtrip_seconds) observe(histogram, *s->roundtrip_seconds);
    total(totals, "smtp_exporter_delivery_late_total",
          "Test messages that arrived after their check's timeout (removed later), found by the agent target's checks.")
        .value += s->late;
  }

 private:
  static asio::awaitable<std::optional<Found>> run_imap(CheckContext& context, const config::ReceiveConfig& config,
                                                        ReceiveSection& section, SteadyClock::time_point wait_end) {
    ProbeResult& result = context.result;
    std::shared_ptr<TlsContext> tls;
    try {
      tls = imap_tls_context(config.tls_config);
    } catch (const std::exception& e) {
      fail(result, FailureReason::imap_connect, std::string("TLS settings: ") + e.what());
      co_return std::nullopt;
    }
    auto executor = co_await asio::this_coro::executor;
    ImapClient client(executor, config, tls, context.request.module.dns, context.deadline.at(), result.log);
    ImapCheck check(client, config, result, section);
    std::optional<Found> found;
    const std::string& token = result.message_token;
    bool ok = co_await client.open();
    if (ok) ok = co_await check.folders();
    if (ok) ok = co_await check.round(true, token);
    section.idle = client.has("IDLE");
    std::string inbox = "INBOX";
    while (ok && !check.found() && SteadyClock::now() < wait_end) {
      auto until = std::min(SteadyClock::now() + config.poll_interval, wait_end);
      if (section.idle) {
        ok = co_await check.select(inbox);
        if (ok) ok = co_await client.idle(until);
        if (!ok) break;
      } else {
        asio::steady_timer pause(executor, until);
        boost::system::error_code ignored;
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      }
      ok = co_await check.round(false, token);
    }
    section.round_trips = client.round_trips();
    if (!ok && !result.failure) fail(result, client.reason(), client.detail());
    if (ok) co_await client.close();
    section.round_trips = client.round_trips();
    co_return check.found();
  }

  static asio::awaitable<std::optional<Found>> run_maildir(CheckContext& context, const config::ReceiveConfig& config,
                                                           ReceiveSection& section, SteadyClock::time_point wait_end) {
    ProbeResult& result = context.result;
    std::error_code ec;
    if (!std::filesystem::is_directory(std::filesystem::path(config.maildir) / "new", ec)) {
      fail(result, FailureReason::imap_connect, "maildir " + config.maildir + " has no new/ directory");
      co_return std::nullopt;
    }
    auto executor = co_await asio::this_coro::executor;
    MaildirWatch watch(executor, config.maildir);  // before the first scan: no arrival is missed
    std::set<std::string> skip;
    const std::string& token = result.message_token;
    std::optional<Found> found;
    while (true) {
      const std::int64_t oldest = unix_now() - std::chrono::duration_cast<std::chrono::seconds>(config.timeout).count();
      for (auto& message : maildir_messages(config.maildir, skip)) {
        Ours ours = classify(message.header, token, oldest);
        if (ours == Ours::young) {
          skip.insert(message.path);
          continue;
        }
        if (ours == Ours::current && !found) found = Found{message.folder, message.header, SteadyClock::now()};
        if (ours == Ours::leftover) ++section.late;
        if (remove_maildir_message(message.path)) ++section.removed;
      }
      if (found || SteadyClock::now() >= wait_end) break;
      auto until = std::min(SteadyClock::now() + config.poll_interval, wait_end);
      co_await watch.wait(until);
    }
    co_return found;
  }
};

const std::vector<Remediation>& Receive::remediations() const {
  static const std::vector<Remediation> entries{
      {"delivery/imap_connect",
       "The mailbox of [receive] could not be reached",
       {"The IMAP server is down, not listening on the configured port, or the TLS mode is wrong (implicit TLS on "
        "993, STARTTLS on 143).",
        "The server's certificate does not verify against the configured CA, or its name does not match.",
        "For a Maildir: the directory (with new/) does not exist or is not readable by the exporter."},
       {"Check the port and TLS: openssl s_client -connect HOST:993 (implicit) or -starttls imap -connect HOST:143.",
        "Check the IMAP server: systemctl status dovecot; journalctl -u dovecot.",
        "Set [receive.tls_config] ca_file or server_name for a private CA or another name."},
       {"The exporter's container must reach the IMAP server: same network, or the published port."},
       {"A NetworkPolicy must allow egress from the exporter to the IMAP server."}},
      {"delivery/imap_auth",
       "The IMAP server refused the login of [receive]",
       {"Wrong username or password (password_file / password_env).",
        "The account is locked, or the server allows LOGIN only over TLS."},
       {"Test the login by hand over TLS: openssl s_client -connect HOST:993, then a LOGIN USER PASSWORD.",
        "Read the IMAP server's log (Dovecot: auth failures are logged with auth_verbose = yes).",
        "Failed logins are delayed by Dovecot (auth_failure_delay and the anvil penalty): allow for it in the timeout."},
       {"Mount the password file as a secret, or pass the variable with --env-file."},
       {"Put the password in a Secret and reference it from password_file (a mounted volume) or password_env."}},
      {"delivery/imap_error",
       "The IMAP server answered something unexpected",
       {"A command was refused (SELECT, SEARCH, STORE, EXPUNGE), the mailbox is read-only, or the server closed "
        "the connection.",
        "The server is too slow to answer within the probe's deadline."},
       {"Look at the IMAP lines of the probe's log: /probe?...&debug=true or smtp_exporter check --verbose.",
        "Make sure the account may delete messages in INBOX and Junk."},
       {},
       {}},
      {"delivery/not_delivered",
       "The test message did not arrive in the mailbox",
       {"The server accepted the message (250) but dropped, bounced or queued it: a content filter, a full "
        "mailbox, a relay that is down, or a transport that is stuck.",
        "It arrives, but later than the receive timeout or the scrape timeout (it will then be counted as late).",
        "It was filed into another folder than INBOX or Junk."},
       {"Follow the token in the mail log: grep {token} /var/log/mail.log (the token is in the Subject and in "
        "X-Smtp-Exporter-Token).",
        "Look at the queue: postqueue -p (held or deferred mail).",
        "Raise [receive] timeout, and the scrape timeout above it (docs/delivery.md)."},
       {"docker logs of the mail server container; postqueue -p inside it."},
       {"kubectl logs of the mail server pod; the queue inside it."}},
      {"delivery/delivered_to_junk",
       "The test message was delivered to the Junk folder",
       {"The receiver's spam filter scored the message: missing or failing SPF, DKIM or DMARC, a listed sending "
        "address, or a content rule.",
        "A filter rule of the mailbox files it there."},
       {"Read the received message's Authentication-Results and spam headers (X-Spam-Status, X-Rspamd-*).",
        "Fix SPF/DKIM/DMARC of the sending domain; check the sender's address in blocklists (dnsbl unit)."},
       {},
       {}},
      {"delivery/dmarc_fail",
       "The receiver's DMARC result for the test message was not pass",
       {"The From domain has no DMARC-aligned SPF or DKIM pass: the sending host is not in SPF, or DKIM signing is "
        "off or uses another domain."},
       {"Check the SPF record of the sender's domain: dig +short TXT DOMAIN.",
        "Check the DKIM signature: opendkim-testkey, or the DKIM-Signature header of the received message.",
        "Check the DMARC record: dig +short TXT _dmarc.DOMAIN."},
       {},
       {}},
      {"delivery/late",
       "Test messages arrived after their timeout",
       {"Delivery is slower than the receive timeout: a deferred queue, greylisting at a relay, a slow content "
        "filter."},
       {"Look at the delay in the mail log (delay= and delays= of Postfix).",
        "Raise [receive] timeout if the delay is expected, and the scrape timeout above it."},
       {},
       {}},
  };
  return entries;
}

}  // namespace

const Check& receive_check() {
  static const Receive unit;
  return unit;
}

}  // namespace smtp_exporter::probes
