// EHLO, with the HELO fallback of RFC 5321 §3.2, and what the reply
// advertises: the extensions, the SIZE limit, the SASL mechanisms, and
// (before TLS) whether STARTTLS and AUTH are offered.
#include "checks/ehlo.h"

#include <algorithm>

#include "ehlo_reply.h"
#include "smtp_exporter/report.h"
#include "smtp_session.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
constexpr std::string_view kName = "ehlo";

class Ehlo final : public Check {
 public:
  std::string_view name() const override { return kName; }
  Phase phase() const override { return Phase::session; }
  bool enabled(const config::Module&) const override { return true; }

  asio::awaitable<Next> run(CheckContext& context) const override {
    SmtpSession& s = *context.session;
    if (!co_await ehlo_exchange(s)) co_return Next::end;
    if (s.stopping(config::Step::ehlo)) co_return Next::quit;
    co_return Next::go_on;
  }

  void series(const ProbeResult& r, std::vector<Series>& out) const override {
    for (const auto& e : r.extensions)
      out.push_back({"probe_smtp_ehlo_extension_info", "SMTP service extensions advertised in the EHLO reply.",
                     {{"extension", e.keyword}}, 1});
    for (const auto& name : r.auth_mechanisms)
      out.push_back({"probe_smtp_auth_mechanism_info", "SASL mechanisms advertised by the AUTH extension.",
                     {{"mechanism", name}}, 1});
    if (r.size_limit)
      out.push_back({"probe_smtp_size_limit_bytes", "Message size limit advertised by SIZE; 0 means no fixed limit.",
                     {}, static_cast<double>(*r.size_limit)});
    if (r.seconds_in(Stage::ehlo) && !r.failure)
      out.push_back({"probe_smtp_helo_fallback", "Whether EHLO was rejected and the probe fell back to HELO.", {},
                     r.helo_fallback ? 1.0 : 0.0});
  }

  // The HELO fallback and the extensions, said to be before TLS when the
  // handshake that should have followed failed (the list is the plain one).
  void report(const ProbeResult& r, const config::Module& module, Report& out) const override {
    if (r.helo_fallback) out.facts.push_back({"EHLO", {"rejected; HELO accepted (no extensions known)"}});
    std::vector<std::string> extensions;
    for (const auto& e : r.extensions) extensions.push_back(e.params.empty() ? e.keyword : e.keyword + " " + e.params);
    if (!extensions.empty()) {
      std::vector<std::string> shown;
      for (const auto& e : extensions) shown.push_back(safe_text(e));
      std::string when = r.tls_established ? " (over TLS)"
                         : module.tls != config::TlsMode::none && r.starttls_offered.value_or(false) ? " (before TLS)"
                                                                                                    : "";
      out.facts.push_back({"Extensions", {join(shown, ", ") + when}});
    }
    out.check["extensions"] = json_texts(extensions);
    out.check["authMechanisms"] = json_texts(r.auth_mechanisms);
  }

  void findings(const ProbeResult&, const config::Module&, std::vector<Finding>&) const override {}
};

}  // namespace

const Check& ehlo_check() {
  static const Ehlo unit;
  return unit;
}

asio::awaitable<bool> ehlo_exchange(SmtpSession& s) {
  ProbeResult& result = s.result;
  auto started = Clock::now();
  std::optional<Reply> reply;
  std::string_view command = "EHLO";
  const std::string name = s.ehlo_argument();
  std::string ehlo = "EHLO " + name, helo = "HELO " + name;
  if (co_await s.send(Stage::ehlo, ehlo, true)) reply = co_await s.read_reply(Stage::ehlo, true);
  if (reply && reply->code / 100 == 5 && !s.expects(Stage::ehlo)) {
    // RFC 5321 §3.2: a server that rejects EHLO may still speak plain SMTP.
    s.note(LogEntry::Kind::info, "EHLO rejected with " + std::to_string(reply->code) + ", trying HELO");
    command = "HELO";
    reply.reset();
    if (co_await s.send(Stage::ehlo, helo, true)) reply = co_await s.read_reply(Stage::ehlo, true);
  }
  s.timed(Stage::ehlo, started);
  if (!reply) co_return false;
  if (!s.accept(Stage::ehlo, std::string(command), *reply, reply->code == 250, FailureReason::unexpected_code,
                FailureReason::unexpected_code)) {
    co_await s.quit();
    co_return false;
  }
  result.helo_fallback = command == "HELO";
  result.ehlo_greeting = reply->lines.empty() ? "" : reply->lines.front();
  result.extensions.clear();
  result.auth_mechanisms.clear();
  result.size_limit.reset();
  if (!result.helo_fallback) {
    EhloInfo info = parse_ehlo(*reply);
    for (const auto& line : info.ignored_lines)
      s.note(LogEntry::Kind::info, "Ignoring malformed EHLO line \"" + printable(line) + "\"");
    if (info.size_unparsable)
      s.note(LogEntry::Kind::info, "SIZE parameter \"" + printable(*info.size_unparsable) +
                                       "\" is not a number this probe can read: no size limit reported");
    result.extensions = std::move(info.extensions);
    result.size_limit = info.size_limit;
    result.auth_mechanisms = std::move(info.auth_mechanisms);
  }
  if (!s.tls_up()) {
    auto advertised = [&](std::string_view keyword) {
      return std::any_of(result.extensions.begin(), result.extensions.end(),
                         [&](const EhloExtension& e) { return e.keyword == keyword; });
    };
    result.starttls_offered = advertised("STARTTLS");
    result.auth_before_tls = advertised("AUTH");
  }
  co_return true;
}

}  // namespace smtp_exporter::probes
