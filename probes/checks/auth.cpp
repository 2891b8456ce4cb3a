// SMTP AUTH (RFC 4954) with the strongest mechanism both sides know, or, for
// expect_code.auth, a bare AUTH that the server must refuse (e.g. 530 before
// STARTTLS). The secret never reaches the log: the lines carrying it are
// shown masked, and a 334 challenge to a bare AUTH is cancelled (RFC 4954 §4).
#include "checks/auth.h"

#include <algorithm>

#include "sasl.h"
#include "smtp_exporter/report.h"
#include "smtp_session.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
constexpr std::string_view kName = "auth";

class Auth final : public Check {
 public:
  std::string_view name() const override { return kName; }
  Phase phase() const override { return Phase::session; }
  bool enabled(const config::Module& module) const override {
    return module.auth || module.expect_code.contains(std::string(to_string(Stage::auth)));
  }

  asio::awaitable<Next> run(CheckContext& context) const override {
    SmtpSession& s = *context.session;
    if (s.module().auth) {
      if (!co_await authenticate(s)) co_return Next::end;
    } else if (!co_await without_credentials(s)) {
      co_return Next::end;
    }
    if (s.stopping(config::Step::auth)) co_return Next::quit;
    co_return Next::go_on;
  }

  void series(const ProbeResult& r, std::vector<Series>& out) const override {
    if (r.auth_success)
      out.push_back({"probe_smtp_auth_success", "Whether SMTP AUTH succeeded; present when the module configures auth.",
                     {}, *r.auth_success ? 1.0 : 0.0});
    if (!r.auth_mechanism.empty())
      out.push_back({"probe_smtp_auth_mechanism_used_info", "The SASL mechanism the probe authenticated with.",
                     {{"mechanism", r.auth_mechanism}}, 1});
  }

  void report(const ProbeResult& r, const config::Module&, Report& out) const override {
    if (!r.auth_success) return;
    std::string with = r.auth_mechanism.empty() ? "" : " with " + safe_text(r.auth_mechanism);
    out.facts.push_back({"AUTH", {*r.auth_success ? "authenticated" + with : "failed" + with}});
  }

  void findings(const ProbeResult&, const config::Module&, std::vector<Finding>&) const override {}

 private:
  static asio::awaitable<bool> authenticate(SmtpSession& s) {
    s.result.auth_success = false;
    auto started = Clock::now();
    bool ok = co_await exchange(s);
    s.timed(Stage::auth, started);
    if (!ok) {
      co_await s.quit();
      co_return false;
    }
    s.result.auth_success = true;
    s.note(LogEntry::Kind::info, "Authenticated as " + s.module().auth->username + " with " + s.result.auth_mechanism);
    co_return true;
  }

  static bool verdict(SmtpSession& s, const Reply& reply) {
    return s.accept(Stage::auth, "AUTH " + s.result.auth_mechanism, reply, reply.code == 235,
                    FailureReason::temporary_failure, FailureReason::auth_error);
  }

  static asio::awaitable<bool> exchange(SmtpSession& s) {
    const config::AuthConfig& auth = *s.module().auth;
    ProbeResult& result = s.result;
    if (!result.tls_established && !auth.allow_plaintext_auth)
      co_return s.fail(Stage::auth, FailureReason::plaintext_auth_refused,
                       "the connection is not encrypted and allow_plaintext_auth is off; credentials not sent");
    bool offered = std::any_of(result.extensions.begin(), result.extensions.end(),
                               [](const EhloExtension& e) { return e.keyword == "AUTH"; });
    if (!offered) co_return s.fail(Stage::auth, FailureReason::not_offered, "the server does not advertise AUTH");
    std::string mechanism = choose_mechanism(auth.mechanisms, result.auth_mechanisms);
    if (mechanism.empty()) {
      std::string theirs, ours;
      for (const auto& m : result.auth_mechanisms) theirs += (theirs.empty() ? "" : " ") + m;
      for (const auto& m : auth.mechanisms) ours += (ours.empty() ? "" : " ") + m;
      co_return s.fail(Stage::auth, FailureReason::not_offered,
                       "no common AUTH mechanism (server: " + printable(theirs) + "; configured: " + ours + ")");
    }
    result.auth_mechanism = mechanism;
    std::optional<Reply> reply;
    if (mechanism == "PLAIN") {
      std::string credentials = std::string(1, '\0') + auth.username + std::string(1, '\0') + auth.password;
      std::string command = "AUTH PLAIN " + base64_encode(credentials);
      std::string shown = "AUTH PLAIN <credentials hidden>";
      if (!co_await s.send(Stage::auth, command, true, shown)) co_return false;
      reply = co_await s.read_reply(Stage::auth, true);
    } else {
      std::string command = "AUTH " + mechanism;
      if (!co_await s.send(Stage::auth, command, true)) co_return false;
      reply = co_await s.read_reply(Stage::auth, true);
      if (!reply) co_return false;
      if (reply->code != 334) co_return verdict(s, *reply);
      std::string first, shown;
      if (mechanism == "LOGIN") {
        first = base64_encode(auth.username);
        shown = first;  // the user name is no secret
      } else {
        auto challenge = base64_decode(reply->lines.front());
        if (!challenge) {
          std::string cancel = "*";
          co_await s.send(Stage::auth, cancel, false);
          co_return s.fail(Stage::auth, FailureReason::protocol_error, "the CRAM-MD5 challenge is not base64");
        }
        first = base64_encode(cram_md5_response(auth.username, auth.password, *challenge));
        shown = "<CRAM-MD5 response hidden>";
      }
      if (!co_await s.send(Stage::auth, first, true, shown)) co_return false;
      reply = co_await s.read_reply(Stage::auth, true);
      if (reply && reply->code == 334 && mechanism == "LOGIN") {
        std::string password = base64_encode(auth.password);
        std::string hidden = "<password hidden>";
        if (!co_await s.send(Stage::auth, password, true, hidden)) co_return false;
        reply = co_await s.read_reply(Stage::auth, true);
      }
    }
    if (!reply) co_return false;
    co_return verdict(s, *reply);
  }

  // expect_code.auth: nothing is usual here, only an expected reply lets
  // the probe succeed.
  static asio::awaitable<bool> without_credentials(SmtpSession& s) {
    auto started = Clock::now();
    std::string mechanism = choose_mechanism({"PLAIN", "LOGIN", "CRAM-MD5"}, s.result.auth_mechanisms);
    std::string command = "AUTH " + (mechanism.empty() ? std::string("PLAIN") : mechanism);
    std::optional<Reply> reply;
    if (co_await s.send(Stage::auth, command, true)) reply = co_await s.read_reply(Stage::auth, true);
    if (reply && reply->code == 334) {
      auto last_code = s.result.last_code;  // the 334 is the answer that counts, not the cancel's 501
      std::string cancel = "*";
      if (co_await s.send(Stage::auth, cancel, false)) co_await s.read_reply(Stage::auth, false);
      s.result.last_code = last_code;
    }
    s.timed(Stage::auth, started);
    if (!reply) co_return false;
    if (!s.accept(Stage::auth, command, *reply, false, FailureReason::temporary_failure,
                  FailureReason::unexpected_code)) {
      co_await s.quit();
      co_return false;
    }
    co_return true;
  }
};

}  // namespace

const Check& auth_check() {
  static const Auth unit;
  return unit;
}

}  // namespace smtp_exporter::probes
