// STARTTLS (RFC 3207): the command where the module asks for it, the
// handshake (the session's SmtpSession::upgrade_to_tls, which implicit TLS
// runs right after connect) and EHLO again over TLS. What the handshake
// found is the certificate unit's (probes/checks/certificate.cpp).
#include "checks/starttls.h"

#include "checks/ehlo.h"
#include "smtp_session.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
constexpr std::string_view kName = "starttls";

class Tls final : public Check {
 public:
  std::string_view name() const override { return kName; }
  Phase phase() const override { return Phase::session; }
  // The STARTTLS step; implicit TLS is negotiated on connect (greeting unit).
  bool enabled(const config::Module& module) const override {
    return module.tls == config::TlsMode::starttls || module.tls == config::TlsMode::opportunistic;
  }

  asio::awaitable<Next> run(CheckContext& context) const override {
    SmtpSession& s = *context.session;
    if (*s.result.starttls_offered) {
      if (!co_await starttls(s)) co_return Next::end;
      if (s.stopping(config::Step::tls)) co_return Next::quit;
      if (!co_await ehlo_exchange(s)) co_return Next::end;  // RFC 3207 §4.2: forget what was learned before TLS
    } else if (s.module().tls == config::TlsMode::starttls) {
      s.fail(Stage::starttls, FailureReason::not_offered, "the server does not advertise STARTTLS");
      co_return Next::quit;
    } else {
      s.note(LogEntry::Kind::info, "STARTTLS not offered; continuing without TLS (opportunistic)");
      if (s.stopping(config::Step::tls)) co_return Next::quit;
    }
    co_return Next::go_on;
  }

  // Its facts are the certificate unit's (the handshake may be implicit TLS's).
  void series(const ProbeResult&, std::vector<Series>&) const override {}
  void findings(const ProbeResult&, const config::Module&, std::vector<Finding>&) const override {}

 private:
  // STARTTLS (RFC 3207): 220, then the handshake on the same connection.
  static asio::awaitable<bool> starttls(SmtpSession& s) {
    auto started = Clock::now();
    if (!co_await s.send(Stage::starttls, "STARTTLS", true)) co_return false;
    auto reply = co_await s.read_reply(Stage::starttls, true);
    s.timed(Stage::starttls, started);
    if (!reply) co_return false;
    if (!s.accept(Stage::starttls, "STARTTLS", *reply, reply->code == 220, FailureReason::unexpected_code,
                  FailureReason::unexpected_code)) {
      co_await s.quit();
      co_return false;
    }
    // Bytes sent before the handshake would be read as if they came over TLS
    // (the CVE-2011-0411 injection): a correct server sends none.
    if (s.has_unread_bytes())
      co_return s.fail(Stage::starttls, FailureReason::protocol_error,
                       "the server sent data after its 220 reply to STARTTLS");
    co_return co_await s.upgrade_to_tls(Stage::starttls);
  }
};

}  // namespace

const Check& tls_check() {
  static const Tls unit;
  return unit;
}

}  // namespace smtp_exporter::probes
