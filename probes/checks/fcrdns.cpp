// FCrDNS and name consistency. Large receivers reject or score mail from a
// host whose address has no PTR record, or whose PTR name does not resolve
// back to the address (forward-confirmed reverse DNS); and an MTA whose
// greeting or EHLO names another host than its PTR looks misconfigured. For
// the address the probe connected to: its PTR names (c-ares), which of them
// resolve forward to the address, and the host names in the 220 greeting and
// the EHLO reply, compared with the PTR names and the target / MX name.
#include "checks/fcrdns.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <algorithm>
#include <cctype>

#include "gather.h"
#include "smtp_exporter/report.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
constexpr std::string_view kName = "fcrdns";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

// The first word of a greeting or EHLO line ("mx.example.com ESMTP Postfix").
std::string first_word(std::string_view line) {
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  return std::string(line.substr(0, line.find(' ')));
}

bool among(const std::vector<std::string>& names, const std::string& name) {
  if (name.empty()) return false;
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return lower(n) == lower(name); });
}

class Fcrdns final : public Check {
 public:
  std::string_view name() const override { return kName; }

  asio::awaitable<Next> run(CheckContext& context) const override {
    ProbeResult& result = context.result;
    boost::system::error_code ec;
    auto address = asio::ip::make_address(result.ip, ec);
    if (result.ip.empty() || ec) co_return Next::go_on;  // never connected: nothing to look up
    FcrdnsSection s;
    s.ip = result.ip;
    s.expected = context.request.host;
    if (!result.banner_lines.empty()) s.banner_hostname = first_word(result.banner_lines.front());
    s.ehlo_hostname = first_word(result.ehlo_greeting);

    auto executor = co_await asio::this_coro::executor;
    // The probe's deadline bounds the lookups too.
    BoundedResolver bounded(executor, context.request.module.dns, context.deadline.at());
    DnsResolver* resolver = bounded.resolver.get();
    auto started = std::chrono::steady_clock::now();
    PtrLookup ptr = co_await resolver->ptr(address);
    s.ptr_error = ptr.error;
    s.ptr_detail = ptr.detail;
    s.ptr_names = ptr.names;
    std::vector<AddressLookup> forward = co_await gather<AddressLookup>(
        ptr.names.size(), [&](std::size_t i) { return resolver->addresses(ptr.names[i]); });
    for (std::size_t i = 0; i < forward.size(); ++i)
      if (std::find(forward[i].addresses.begin(), forward[i].addresses.end(), address) != forward[i].addresses.end())
        s.confirmed.push_back(ptr.names[i]);

    std::string names;
    for (const auto& n : s.ptr_names) names += (names.empty() ? "" : ", ") + n;
    result.log.push_back({std::chrono::system_clock::now(), LogEntry::Kind::info,
                          "FCrDNS: PTR of " + s.ip + ": " + (names.empty() ? std::string(to_string(ptr.error)) : names) +
                              (s.confirmed.empty() ? " (not forward-confirmed)" : " (forward-confirmed)") + " in " +
                              std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                                                 .count()) +
                              "s"});
    result.sections.insert_or_assign(std::string(kName), std::move(s));
    co_return Next::go_on;
  }

  void series(const ProbeResult& result, std::vector<Series>& out) const override {
    const auto* s = section<FcrdnsSection>(result, kName);
    if (!s) return;
    out.push_back({"probe_smtp_fcrdns_ok",
                   "Whether a PTR name of the address resolves back to it (forward-confirmed reverse DNS).",
                   {},
                   s->confirmed.empty() ? 0.0 : 1.0});
    for (const auto& name : s->ptr_names)
      out.push_back({"probe_smtp_ptr_info", "The PTR names of the address connected to.", {{"ptr", name}}, 1});
    if (!s->banner_hostname.empty()) {
      out.push_back({"probe_smtp_banner_hostname_info", "The host name in the server's 220 greeting.",
                     {{"hostname", s->banner_hostname}}, 1});
      out.push_back({"probe_smtp_banner_hostname_matches_ptr",
                     "Whether the host name of the greeting is one of the address' PTR names.",
                     {},
                     among(s->ptr_names, s->banner_hostname) ? 1.0 : 0.0});
    }
  }

  // The PTR names, which of them resolve back, and the names the server gives.
  void report(const ProbeResult& result, const config::Module&, Report& out) const override {
    const auto* s = section<FcrdnsSection>(result, kName);
    if (!s) return;
    Fact fact{"FCrDNS", {}};
    if (s->ptr_names.empty()) {
      fact.lines.push_back("no PTR record for " + s->ip + " (" + std::string(to_string(s->ptr_error)) + ")");
    } else {
      std::vector<std::string> ptr;
      for (const auto& name : s->ptr_names) ptr.push_back(safe_text(name));
      fact.lines.push_back(s->confirmed.empty() ? "not confirmed: " + join(ptr, ", ") + " does not resolve back to " + s->ip
                                                : "ok: " + s->ip + " is " + safe_text(s->confirmed.front()) +
                                                      ", which resolves back to it");
      if (s->confirmed.empty() || ptr.size() > 1) fact.lines.push_back("PTR " + join(ptr, ", "));
    }
    if (!s->banner_hostname.empty()) fact.lines.push_back("greeting names " + safe_text(s->banner_hostname));
    if (!s->ehlo_hostname.empty()) fact.lines.push_back("EHLO reply names " + safe_text(s->ehlo_hostname));
    out.facts.push_back(std::move(fact));
    std::vector<std::string> ptr_names(s->ptr_names.begin(), s->ptr_names.end());
    out.check["fcrdns"] = {{"ip", json_text(s->ip)},
                           {"ok", !s->confirmed.empty()},
                           {"ptr", json_texts(ptr_names)},
                           {"confirmed", json_texts(s->confirmed)},
                           {"bannerHostname", json_text(s->banner_hostname)},
                           {"ehloHostname", json_text(s->ehlo_hostname)}};
    out.healthz["fcrdnsOk"] = !s->confirmed.empty();
  }

  void findings(const ProbeResult& result, const config::Module&, std::vector<Finding>& out) const override {
    const auto* s = section<FcrdnsSection>(result, kName);
    if (!s) return;
    if (s->ptr_names.empty()) {
      out.push_back({"fcrdns/no_ptr", Health::degraded,
                     s->ip + " has no PTR record (" + std::string(to_string(s->ptr_error)) + ")"});
      return;
    }
    if (s->confirmed.empty())
      out.push_back({"fcrdns/not_confirmed", Health::degraded,
                     "the PTR name " + s->ptr_names.front() + " of " + s->ip + " does not resolve back to " + s->ip});
    if (!s->banner_hostname.empty() && !among(s->ptr_names, s->banner_hostname))
      out.push_back({"fcrdns/banner_mismatch", Health::degraded,
                     "the greeting names " + s->banner_hostname + ", the PTR of " + s->ip + " is " +
                         s->ptr_names.front()});
    if (!s->ehlo_hostname.empty() && !among(s->ptr_names, s->ehlo_hostname))
      out.push_back({"fcrdns/ehlo_mismatch", Health::degraded,
                     "the EHLO reply names " + s->ehlo_hostname + ", the PTR of " + s->ip + " is " +
                         s->ptr_names.front()});
  }

  const std::vector<Remediation>& remediations() const override {
    static const std::vector<Remediation> entries{
        {"fcrdns/no_ptr",
         "The server's address has no PTR record",
         {"No reverse DNS was set up for the address: large receivers refuse or score down mail from such hosts.",
          "The reverse zone belongs to whoever owns the address block (the hosting provider or ISP), not to the "
          "mail domain."},
         {"Look it up: dig -x {address} +short",
          "Ask the owner of the address block (the provider's panel: \"reverse DNS\" or \"PTR\") to set the PTR of "
          "{address} to the server's host name, e.g. {host}.",
          "Make sure that name resolves back: dig +short A {host} (or AAAA) must list {address}."},
         {},
         {}},
        {"fcrdns/not_confirmed",
         "The PTR name does not resolve back to the address",
         {"The PTR record names a host whose A/AAAA records do not include the address (forward-confirmed reverse "
          "DNS fails): receivers that check FCrDNS treat the host as unidentified."},
         {"Compare: dig -x {address} +short, then dig +short A NAME and dig +short AAAA NAME for that name.",
          "Either add {address} to the name's A/AAAA records, or have the PTR point at a name that has it."},
         {},
         {}},
        {"fcrdns/banner_mismatch",
         "The greeting names another host than the PTR record",
         {"The MTA announces a host name (Postfix: myhostname, smtpd_banner) that differs from the address' PTR "
          "name: not an error by itself, but a sign of a copied configuration or of a NAT in front of the server."},
         {"Postfix: postconf myhostname smtpd_banner; set myhostname to the PTR name (dig -x {address} +short) and "
          "systemctl reload postfix.",
          "Exim: primary_hostname; Exchange: the FQDN of the receive connector."},
         {},
         {}},
        {"fcrdns/ehlo_mismatch",
         "The EHLO reply names another host than the PTR record",
         {"The name in the server's EHLO reply (Postfix: myhostname) differs from the address' PTR name."},
         {"Postfix: postconf myhostname; set it to the PTR name (dig -x {address} +short) and systemctl reload "
          "postfix."},
         {},
         {}},
    };
    return entries;
  }
};

}  // namespace

const Check& fcrdns_check() {
  static const Fcrdns unit;
  return unit;
}

}  // namespace smtp_exporter::probes
