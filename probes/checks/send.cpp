// The test message: MAIL FROM, RCPT TO for each recipient, DATA, with a
// correlation token in the Subject and in X-Smtp-Exporter-Token (the receive
// unit finds the message by that header). In the
// mail transaction 4xx is temporary (greylisting: the host probe retries the
// whole conversation) and 5xx permanent.
#include "checks/send.h"

#include "smtp_exporter/report.h"
#include "smtp_session.h"
#include "test_message.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
constexpr std::string_view kName = "send";

bool accept_transaction(SmtpSession& s, Stage stage, const std::string& command, const Reply& reply, bool usual) {
  return s.accept(stage, command, reply, usual, FailureReason::temporary_failure, FailureReason::permanent_failure);
}

class Send final : public Check {
 public:
  std::string_view name() const override { return kName; }
  Phase phase() const override { return Phase::session; }
  bool enabled(const config::Module& module) const override { return module.send.has_value(); }

  asio::awaitable<Next> run(CheckContext& context) const override {
    SmtpSession& s = *context.session;
    bool sent = co_await send_message(s);
    co_return sent ? Next::go_on : Next::end;
  }

  void series(const ProbeResult& r, std::vector<Series>& out) const override {
    for (const auto& recipient : r.recipients)
      out.push_back({"probe_smtp_rcpt_status_code", "Reply code to RCPT TO, per recipient.",
                     {{"recipient", recipient.address}}, double(recipient.code)});
    if (r.message_accepted)
      out.push_back({"probe_smtp_message_info", "The token of the test message the server accepted (in its Subject).",
                     {{"token", r.message_token}}, 1});
  }

  // The conversation of AUTH and the test message, as the origin documents'
  // SMTP executor returns it: attempts, each retried attempt's error type,
  // the recipients' replies, the token.
  void report(const ProbeResult& r, const config::Module&, Report& out) const override {
    if (!r.recipients.empty()) {
      std::vector<std::string> each;
      for (const auto& rcpt : r.recipients)
        each.push_back(safe_text(rcpt.address) + " " + std::to_string(rcpt.code) +
                       (rcpt.code / 100 == 2 ? " (accepted)" : " (refused)"));
      out.facts.push_back({"Recipients", {join(each, ", ")}});
    }
    if (!r.message_token.empty())
      out.facts.push_back(
          {"Message", {std::string(r.message_accepted ? "accepted" : "not accepted") + ", token " + r.message_token}});
    if (!r.attempts) {
      out.check["send"] = nullptr;  // the module has neither AUTH nor a message
      return;
    }
    Fact attempts{"Attempts",
                  {std::to_string(*r.attempts) + (r.retried.empty() ? "" : " (retried after a temporary failure)")}};
    for (std::size_t i = 0; i < r.retried.size(); ++i)
      attempts.lines.push_back("attempt " + std::to_string(i + 1) + ": " + failure_text(r.retried[i]));
    out.facts.push_back(std::move(attempts));

    Json recipients = Json::array(), attempt_errors = Json::array();
    for (const auto& rcpt : r.recipients)
      recipients.push_back({{"address", json_text(rcpt.address)}, {"code", rcpt.code}, {"accepted", rcpt.code / 100 == 2}});
    for (const auto& f : r.retried) attempt_errors.push_back(json_failure(f));
    out.check["send"] = {
        {"attempts", *r.attempts},
        {"attemptErrors", std::move(attempt_errors)},
        {"authenticated", r.auth_success ? Json(*r.auth_success) : Json(nullptr)},
        {"authMechanism", r.auth_mechanism.empty() ? Json(nullptr) : json_text(r.auth_mechanism)},
        {"recipients", std::move(recipients)},
        {"token", r.message_token.empty() ? Json(nullptr) : json_text(r.message_token)},
        {"messageAccepted", r.message_accepted},
        {"errorType", r.failure ? json_text(to_string(r.failure->reason)) : Json(nullptr)}};

    out.healthz["attempts"] = *r.attempts;
    Json errors = Json::array();
    for (const auto& f : r.retried) errors.push_back(to_string(f.reason));
    out.healthz["attemptErrors"] = std::move(errors);
    if (r.auth_success) out.healthz["authenticated"] = *r.auth_success;
    if (!r.recipients.empty()) {
      Json brief = Json::array();
      for (const auto& rcpt : r.recipients) brief.push_back({{"address", rcpt.address}, {"code", rcpt.code}});
      out.healthz["recipients"] = std::move(brief);
    }
    if (!r.message_token.empty()) {
      out.healthz["messageToken"] = r.message_token;
      out.healthz["messageAccepted"] = r.message_accepted;
    }
  }

  void findings(const ProbeResult&, const config::Module&, std::vector<Finding>&) const override {}

 private:
  static asio::awaitable<bool> send_message(SmtpSession& s) {
    const config::SendConfig& message = *s.module().send;
    auto started = Clock::now();
    std::string mail = "MAIL FROM:<" + message.from + ">";
    std::optional<Reply> reply;
    if (co_await s.send(Stage::mail, mail, true)) reply = co_await s.read_reply(Stage::mail, true);
    s.timed(Stage::mail, started);
    if (!reply) co_return false;
    if (!accept_transaction(s, Stage::mail, "MAIL FROM", *reply, reply->code == 250) ||
        s.stopping(config::Step::mail)) {
      co_await s.quit();
      co_return false;
    }

    started = Clock::now();
    std::vector<Reply> replies;
    for (const auto& address : message.to) {
      std::string rcpt = "RCPT TO:<" + address + ">";
      reply.reset();
      if (co_await s.send(Stage::rcpt, rcpt, true)) reply = co_await s.read_reply(Stage::rcpt, true);
      if (!reply) {
        s.timed(Stage::rcpt, started);
        co_return false;
      }
      s.result.recipients.push_back({address, reply->code});
      replies.push_back(std::move(*reply));
    }
    s.timed(Stage::rcpt, started);
    // Every recipient is judged, so a foreign address that is accepted (an
    // open relay) fails the probe even after an expected refusal.
    bool go_on = true;
    for (std::size_t i = 0; i < replies.size(); ++i) {
      std::string command = "RCPT TO:<" + message.to[i] + ">";
      if (!accept_transaction(s, Stage::rcpt, command, replies[i], replies[i].code == 250 || replies[i].code == 251))
        go_on = false;
    }
    if (!go_on || s.stopping(config::Step::rcpt)) {
      co_await s.quit();
      co_return false;
    }

    started = Clock::now();
    bool ok = co_await data(s);
    s.timed(Stage::data, started);
    if (!ok) {
      co_await s.quit();
      co_return false;
    }
    co_return true;
  }

  // expect_code.data judges DATA's reply unless it is 354, else the reply
  // to the message.
  static asio::awaitable<bool> data(SmtpSession& s) {
    std::optional<Reply> reply;
    if (co_await s.send(Stage::data, "DATA", true)) reply = co_await s.read_reply(Stage::data, true);
    if (!reply) co_return false;
    if (reply->code != 354) {
      accept_transaction(s, Stage::data, "DATA", *reply, false);
      co_return false;
    }
    MessageFields fields = message_fields(std::chrono::system_clock::now(), random_token(), s.ehlo_argument());
    std::string text = build_message(*s.module().send, fields);
    s.result.message_token = fields.token;
    // The payload already ends with CR LF . CR LF.
    std::string shown = "<message of " + std::to_string(text.size()) + " bytes, token " + fields.token + ">";
    if (!co_await s.write(Stage::data, text, true, shown)) co_return false;
    reply = co_await s.read_reply(Stage::data, true);
    if (!reply) co_return false;
    if (!accept_transaction(s, Stage::data, "end of data", *reply, reply->code == 250)) co_return false;
    s.result.message_accepted = true;
    // The delivery round trip (the receive unit) starts at this 250.
    s.result.message_accepted_at = s.reply_arrived().value_or(Clock::now());
    s.result.message_sent_unix = fields.unix_seconds;
    s.note(LogEntry::Kind::info, "Message accepted (token " + fields.token + ")");
    co_return true;
  }
};

}  // namespace

const Check& send_check() {
  static const Send unit;
  return unit;
}

}  // namespace smtp_exporter::probes
