// MTA-STS and TLS-RPT of a mail domain, after the `mx` unit: a sender in
// `enforce` mode delivers only to MX hosts that the policy names and that
// offer STARTTLS with a certificate valid for their name, so a policy that
// misses an MX, a policy host with a bad certificate or a body changed
// without a new id silently stops or misroutes mail. The MX hosts' facts are
// the `mx` unit's (result.mx_hosts): nothing is probed twice.
#include "checks/mta_sts.h"

#include <boost/asio/this_coro.hpp>
#include <algorithm>
#include <cctype>

#include "gather.h"
#include "smtp_exporter/report.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
constexpr std::string_view kName = "mta_sts";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

void note(ProbeResult& result, LogEntry::Kind kind, std::string text) {
  result.log.push_back({std::chrono::system_clock::now(), kind, "MTA-STS: " + std::move(text)});
}

FailureReason fetch_reason(PolicyFetch::Outcome outcome) {
  switch (outcome) {
    case PolicyFetch::Outcome::ok: break;
    case PolicyFetch::Outcome::fetch_error: return FailureReason::policy_fetch_error;
    case PolicyFetch::Outcome::certificate: return FailureReason::policy_certificate_error;
    case PolicyFetch::Outcome::http_status: return FailureReason::policy_http_status;
    case PolicyFetch::Outcome::content_type: return FailureReason::policy_content_type;
    case PolicyFetch::Outcome::too_large: return FailureReason::policy_too_large;
  }
  return FailureReason::policy_fetch_error;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : "; ") + s;
  return out;
}

}  // namespace

// --- memory ---------------------------------------------------------------

std::optional<PolicyFetch> MtaStsMemory::cached(const std::string& domain, const std::string& id,
                                                config::Duration max_age, Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto it = cache_.find(domain);
  if (it == cache_.end() || it->second.id != id || now - it->second.at >= max_age) return std::nullopt;
  ++hits_;
  return it->second.fetch;
}

void MtaStsMemory::remember(const std::string& domain, const std::string& id, const PolicyFetch& fetch,
                            Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (!cache_.contains(domain) && cache_.size() >= kMaxCached) {
    auto oldest = std::min_element(cache_.begin(), cache_.end(),
                                   [](const auto& a, const auto& b) { return a.second.at < b.second.at; });
    cache_.erase(oldest);
  }
  cache_.insert_or_assign(domain, Cached{id, fetch, now});
}

bool MtaStsMemory::observe(const std::string& domain, const std::string& id, const std::string& body) {
  std::lock_guard lock(mutex_);
  const std::size_t hash = std::hash<std::string>{}(body);
  if (!seen_.contains(domain) && seen_.size() >= kMaxTracked) seen_.erase(seen_.begin());
  auto [it, inserted] = seen_.try_emplace(domain, Seen{id, hash, false});
  if (inserted) return false;
  Seen& seen = it->second;
  if (seen.id != id) seen.stale = false;                 // a new id: senders fetch again
  else if (seen.body_hash != hash) seen.stale = true;   // same id, new body: senders keep the old one
  seen.id = id;
  seen.body_hash = hash;
  return seen.stale;
}

bool MtaStsMemory::stale(const std::string& domain) const {
  std::lock_guard lock(mutex_);
  auto it = seen_.find(domain);
  return it != seen_.end() && it->second.stale;
}

void MtaStsMemory::count_fetch() {
  std::lock_guard lock(mutex_);
  ++fetches_;
}

void MtaStsMemory::series(std::vector<Series>& out) const {
  std::lock_guard lock(mutex_);
  out.push_back({"smtp_exporter_mta_sts_policy_fetches_total", "MTA-STS policies fetched over HTTPS.", {}, fetches_,
                 true});
  out.push_back({"smtp_exporter_mta_sts_policy_cache_hits_total",
                 "MTA-STS policies taken from the cache instead of being fetched.", {}, hits_, true});
  out.push_back({"smtp_exporter_mta_sts_policy_cache_entries", "Domains whose MTA-STS policy is cached.", {},
                 static_cast<double>(cache_.size())});
}

void MtaStsMemory::clear() {
  std::lock_guard lock(mutex_);
  cache_.clear();
  seen_.clear();
}

MtaStsMemory& mta_sts_memory() {
  static MtaStsMemory memory;
  return memory;
}

// --- MX coverage ----------------------------------------------------------

std::vector<MtaStsMx> judge_mx(const ProbeResult& result, const std::string& domain, const StsPolicy* policy) {
  std::vector<MtaStsMx> out;
  if (!result.mx || result.mx->null_mx) return out;
  std::vector<std::string> names;
  if (result.mx->implicit) names.push_back(domain);
  for (const auto& r : result.mx->records)
    if (std::find(names.begin(), names.end(), r.exchange) == names.end()) names.push_back(r.exchange);
  for (const auto& name : names) {
    MtaStsMx m;
    m.name = name;
    if (policy) m.pattern = matching_pattern(policy->mx, name);
    if (!result.mx->dns_only) {
      bool tried = false, any = false, all = true;
      for (const auto& h : result.mx_hosts) {
        if (lower(h.exchange) != lower(name) || !h.reachable) continue;
        any = true;
        const ProbeResult& r = h.result;
        if (r.starttls_offered == false) {
          all = false;
          m.problem = h.ip + " does not offer STARTTLS";
          tried = true;
          continue;
        }
        if (!r.tls) {
          if (r.failure && (r.failure->stage == Stage::starttls || r.failure->stage == Stage::tls)) {
            tried = true;
            all = false;
            m.problem = h.ip + ": " + r.failure->detail;
          }
          continue;
        }
        tried = true;
        if (!r.tls->verified) {
          all = false;
          m.problem = h.ip + ": certificate not valid for " + name + " (" + joined(r.tls->verify_errors) + ")";
        }
      }
      // A host that nobody could connect to says nothing about its TLS: the mx
      // unit reports it (probe_smtp_mx_host_success, SMTPMXHostFailing).
      if (any && tried) m.valid = all;
    }
    out.push_back(std::move(m));
  }
  return out;
}

// --- the unit -------------------------------------------------------------

namespace {

// The policy senders apply: a valid one under exactly one valid TXT record
// (with two records, or a malformed one, senders assume no policy, §3.1).
const StsPolicy* in_force(const MtaStsSection& s) {
  return s.txt.valid() && s.policy && s.policy->valid() ? &*s.policy : nullptr;
}

class MtaSts final : public Check {
 public:
  std::string_view name() const override { return kName; }
  Phase phase() const override { return Phase::domain; }

  asio::awaitable<Next> run(CheckContext& context) const override {
    ProbeResult& result = context.result;
    const config::Module& module = context.request.module;
    MtaStsSection s;
    s.domain = lower(context.request.host);
    auto executor = co_await asio::this_coro::executor;

    // Both TXT records at once, within the deadline.
    std::string sts_name = "_mta-sts." + s.domain;
    std::string rpt_name = "_smtp._tls." + s.domain;
    std::vector<TxtLookup> txt;
    {
      BoundedResolver bounded(executor, module.dns, context.deadline.at());
      DnsResolver* resolver = bounded.resolver.get();
      txt = co_await gather<TxtLookup>(2, [&](std::size_t i) { return resolver->txt(i == 0 ? sts_name : rpt_name); });
    }
    s.txt_error = txt[0].error;
    s.txt = parse_sts_record(txt[0].texts);
    if (txt[0].error != DnsError::none && txt[0].error != DnsError::nxdomain && txt[0].error != DnsError::nodata)
      s.txt.error = "TXT lookup of " + sts_name + ": " + std::string(to_string(txt[0].error));
    s.tlsrpt_error = txt[1].error;
    s.tlsrpt = parse_tlsrpt_record(txt[1].texts);
    if (txt[1].error != DnsError::none && txt[1].error != DnsError::nxdomain && txt[1].error != DnsError::nodata)
      s.tlsrpt.error = "TXT lookup of " + rpt_name + ": " + std::string(to_string(txt[1].error));
    note(result, s.txt.valid() ? LogEntry::Kind::info : LogEntry::Kind::error,
         sts_name + ": " + (s.txt.valid() ? "id " + s.txt.id : s.txt.error));
    note(result, s.tlsrpt.valid() ? LogEntry::Kind::info : LogEntry::Kind::error,
         rpt_name + ": " + (s.tlsrpt.valid() ? "rua " + joined(s.tlsrpt.rua) : s.tlsrpt.error));

    // The policy: from the cache when fetched under the same id recently
    // (a new id means a new policy, as senders see it), else over HTTPS.
    // A domain without any v=STSv1 record has no policy to fetch.
    MtaStsMemory& memory = mta_sts_memory();
    if (s.txt.records > 0 && !context.deadline.passed()) {
      auto now = Clock::now();
      if (auto hit = memory.cached(s.domain, s.txt.id, module.mta_sts_cache, now)) {
        s.fetch = std::move(*hit);
        s.cached = true;
        note(result, s.fetch->outcome == PolicyFetch::Outcome::ok ? LogEntry::Kind::info : LogEntry::Kind::error,
             "policy of " + s.domain + " from the cache (" + std::string(to_string(s.fetch->outcome)) + ")" +
                 (s.fetch->detail.empty() ? "" : ": " + s.fetch->detail));
      } else {
        std::shared_ptr<TlsContext> tls = context.request.tls_context;
        try {
          if (!tls) tls = make_tls_context(module.tls_config);
        } catch (const std::exception& e) {
          PolicyFetch failed;
          failed.detail = std::string("TLS context: ") + e.what();
          s.fetch = std::move(failed);
        }
        if (tls) {
          const std::string& domain = s.domain;
          const std::uint16_t port = module.mta_sts_policy_port;
          PolicyFetch fetched = co_await fetch_sts_policy(domain, port, module.dns, tls, context.deadline);
          memory.count_fetch();
          result.stage_seconds.emplace_back(Stage::mta_sts, fetched.seconds);
          // A fetch cut short by the deadline says nothing about the policy: not cached.
          if (!context.deadline.passed() && module.mta_sts_cache > config::Duration::zero())
            memory.remember(s.domain, s.txt.id, fetched, now);
          s.fetch = std::move(fetched);
        }
        note(result, s.fetch->outcome == PolicyFetch::Outcome::ok ? LogEntry::Kind::info : LogEntry::Kind::error,
             "GET " + s.fetch->url + ": " +
                 (s.fetch->outcome == PolicyFetch::Outcome::ok
                      ? "HTTP 200, " + std::to_string(s.fetch->body.size()) + " bytes"
                      : s.fetch->detail));
      }
      if (s.fetch->outcome == PolicyFetch::Outcome::ok) {
        s.policy = parse_sts_policy(s.fetch->body);
        if (!s.policy->unknown_keys.empty())
          note(result, LogEntry::Kind::info, "policy keys ignored (unknown): " + joined(s.policy->unknown_keys));
        if (!s.policy->valid()) note(result, LogEntry::Kind::error, "policy invalid: " + joined(s.policy->errors));
        // Change tracking: fresh fetches only (a cached body is the one seen).
        if (s.txt.valid()) s.stale_id = s.cached ? memory.stale(s.domain) : memory.observe(s.domain, s.txt.id, s.fetch->body);
      }
    }
    s.mx = judge_mx(result, s.domain, in_force(s));

    // The first thing wrong, as the probe's failure when nothing failed before.
    if (s.txt.records == 0)
      s.failure = Failure{Stage::mta_sts, FailureReason::txt_missing, sts_name + ": " + s.txt.error};
    else if (!s.txt.valid())
      s.failure = Failure{Stage::mta_sts, FailureReason::txt_invalid, sts_name + ": " + s.txt.error};
    else if (s.fetch && s.fetch->outcome != PolicyFetch::Outcome::ok)
      s.failure = Failure{Stage::mta_sts, fetch_reason(s.fetch->outcome), s.fetch->detail};
    else if (!s.fetch)
      s.failure = Failure{Stage::mta_sts, FailureReason::policy_fetch_error, "no time left to fetch the policy"};
    else if (s.policy && !s.policy->valid())
      s.failure = Failure{Stage::mta_sts, FailureReason::policy_invalid, "policy of " + s.domain + ": " + joined(s.policy->errors)};
    if (s.failure && !result.failure) {
      result.failure = *s.failure;
      result.success = false;
    }
    result.sections.insert_or_assign(std::string(kName), std::move(s));
    co_return Next::go_on;
  }

  void series(const ProbeResult& result, std::vector<Series>& out) const override {
    const auto* s = section<MtaStsSection>(result, kName);
    if (!s) return;
    out.push_back({"probe_smtp_mta_sts_txt_records", "Number of _mta-sts TXT records starting with v=STSv1.", {},
                   double(s->txt.records)});
    out.push_back({"probe_smtp_mta_sts_txt_valid",
                   "Whether the domain has exactly one valid _mta-sts TXT record (RFC 8461 3.1).", {},
                   s->txt.valid() ? 1.0 : 0.0});
    if (s->txt.valid())
      out.push_back({"probe_smtp_mta_sts_id_info", "The id of the _mta-sts TXT record.", {{"id", s->txt.id}}, 1});
    if (s->fetch) {
      if (s->fetch->status)
        out.push_back({"probe_smtp_mta_sts_policy_http_status", "HTTP status of the policy fetch.", {},
                       double(s->fetch->status)});
      out.push_back({"probe_smtp_mta_sts_policy_cached", "Whether the policy came from the exporter's cache.", {},
                     s->cached ? 1.0 : 0.0});
      if (s->fetch->tls && !s->fetch->tls->presented_chain.empty())
        out.push_back({"probe_smtp_mta_sts_policy_cert_expiry_timestamp_seconds",
                       "notAfter of the policy host's certificate, Unix seconds.", {},
                       double(s->fetch->tls->presented_chain.front().not_after)});
    }
    out.push_back({"probe_smtp_mta_sts_policy_valid", "Whether a valid policy was fetched and parsed (RFC 8461 3.2).",
                   {}, s->policy && s->policy->valid() ? 1.0 : 0.0});
    // (no std::optional here: GCC 12 -O3 warns maybe-uninitialized on comparing one)
    const StsPolicy* policy = in_force(*s);
    const bool have_mode = policy && policy->mode.has_value();
    const StsMode mode = have_mode ? *policy->mode : StsMode::none;
    for (StsMode m : {StsMode::enforce, StsMode::testing, StsMode::none})
      out.push_back({"probe_smtp_mta_sts_policy_mode", "The policy's mode: one series per mode, 1 for the one in force.",
                     {{"mode", std::string(to_string(m))}}, have_mode && mode == m ? 1.0 : 0.0});
    if (policy && policy->max_age)
      out.push_back({"probe_smtp_mta_sts_max_age_seconds", "The policy's max_age in seconds.", {},
                     double(*policy->max_age)});
    if (s->policy)
      for (const auto& key : s->policy->unknown_keys)
        out.push_back({"probe_smtp_mta_sts_policy_unknown_key_info", "A key of the policy that senders ignore.",
                       {{"key", key}}, 1});
    if (policy)
      for (const auto& m : s->mx) {
        out.push_back({"probe_smtp_mta_sts_mx_covered", "Whether this MX host matches a pattern of the policy.",
                       {{"mx", m.name}}, m.pattern ? 1.0 : 0.0});
      }
    for (const auto& m : s->mx)
      if (m.valid)
        out.push_back({"probe_smtp_mta_sts_mx_valid",
                       "Whether this MX host offers STARTTLS with a certificate valid for its name (PKIX).",
                       {{"mx", m.name}}, *m.valid ? 1.0 : 0.0});
    if (policy)
      out.push_back({"probe_smtp_mta_sts_stale_id",
                     "Whether the policy body changed while the TXT id did not (senders keep the old policy).", {},
                     s->stale_id ? 1.0 : 0.0});
    out.push_back({"probe_smtp_tlsrpt_record_valid",
                   "Whether the domain has exactly one valid _smtp._tls TXT record (RFC 8460 3).", {},
                   s->tlsrpt.valid() ? 1.0 : 0.0});
  }

  // The records, the policy in force, and each MX host against it.
  void report(const ProbeResult& result, const config::Module&, Report& out) const override {
    const auto* s = section<MtaStsSection>(result, kName);
    if (!s) return;
    Fact fact{"MTA-STS", {}};
    fact.lines.push_back("_mta-sts." + safe_text(s->domain) + ": " +
                         (s->txt.valid() ? "id " + safe_text(s->txt.id) : safe_text(s->txt.error)));
    if (s->fetch)
      fact.lines.push_back("policy " + std::string(to_string(s->fetch->outcome)) + (s->cached ? " (cached)" : "") +
                           (s->fetch->detail.empty() ? "" : ": " + safe_text(s->fetch->detail)));
    if (s->policy) {
      std::string mode = s->policy->mode ? std::string(to_string(*s->policy->mode)) : "none";
      std::vector<std::string> patterns;
      for (const auto& p : s->policy->mx) patterns.push_back(safe_text(p));
      fact.lines.push_back("mode " + mode + ", mx " + join(patterns, ", ") +
                           (s->policy->max_age ? ", max_age " + std::to_string(*s->policy->max_age) : ""));
    }
    if (s->stale_id) fact.lines.push_back("the policy changed while its id did not");
    Json mx = Json::array();
    for (const auto& m : s->mx) {
      std::string state = (m.pattern ? "covered by " + safe_text(*m.pattern) : std::string("NOT covered")) +
                          (m.valid ? (*m.valid ? ", STARTTLS valid" : ", NOT valid: " + safe_text(m.problem)) : "");
      fact.lines.push_back(safe_text(m.name) + ": " + state);
      mx.push_back({{"name", json_text(m.name)},
                    {"covered", m.pattern.has_value()},
                    {"valid", m.valid ? Json(*m.valid) : Json(nullptr)}});
    }
    fact.lines.push_back("TLS-RPT: " + (s->tlsrpt.valid() ? join(s->tlsrpt.rua, ", ") : safe_text(s->tlsrpt.error)));
    out.facts.push_back(std::move(fact));
    out.check["mtaSts"] = {{"domain", json_text(s->domain)},
                           {"id", s->txt.valid() ? json_text(s->txt.id) : Json(nullptr)},
                           {"mode", s->policy && s->policy->mode ? json_text(to_string(*s->policy->mode)) : Json(nullptr)},
                           {"staleId", s->stale_id},
                           {"mx", std::move(mx)},
                           {"tlsrptValid", s->tlsrpt.valid()}};
    if (s->policy && s->policy->mode) out.healthz["mtaStsMode"] = std::string(to_string(*s->policy->mode));
  }

  void findings(const ProbeResult& result, const config::Module& module, std::vector<Finding>& out) const override {
    const auto* s = section<MtaStsSection>(result, kName);
    if (!s) return;
    const StsPolicy* policy = in_force(*s);
    if (policy && policy->mode != StsMode::none) {
      bool enforce = policy->mode == StsMode::enforce;
      Health severity = enforce ? Health::unhealthy : Health::degraded;
      std::string consequence = enforce ? "senders that apply MTA-STS will not deliver to it"
                                        : "senders report it through TLS-RPT (mode testing)";
      for (const auto& m : s->mx) {
        if (!m.pattern)
          out.push_back({"mta_sts/mx_not_covered", severity,
                         "the MTA-STS policy of " + s->domain + " does not cover the MX host " + m.name +
                             " (add the line \"mx: " + m.name + "\"): " + consequence});
        if (m.valid == false)
          out.push_back({"mta_sts/mx_invalid", severity,
                         "the MX host " + m.name + " of " + s->domain + " fails MTA-STS validation (" + m.problem +
                             "): " + consequence});
      }
    }
    if (s->stale_id)
      out.push_back({"mta_sts/stale_id", Health::degraded,
                     "the MTA-STS policy of " + s->domain + " changed but the id \"" + s->txt.id +
                         "\" of _mta-sts." + s->domain + " did not: senders keep the old policy for up to max_age"});
    if (s->fetch && s->fetch->tls && s->fetch->tls->verified && s->fetch->tls->leaf_days_to_expiry &&
        module.degraded_cert_days > 0 && *s->fetch->tls->leaf_days_to_expiry < module.degraded_cert_days)
      out.push_back({"mta_sts/policy_cert_expiring", Health::degraded,
                     "the certificate of mta-sts." + s->domain + " expires in " +
                         std::to_string(whole_days(*s->fetch->tls->leaf_days_to_expiry)) + " days"});
    if (!s->tlsrpt.valid())
      out.push_back({"mta_sts/tlsrpt_invalid", Health::degraded,
                     "_smtp._tls." + s->domain + ": " + s->tlsrpt.error + " (no TLS-RPT reports of failed deliveries)"});
  }

  const std::vector<Remediation>& remediations() const override { return mta_sts_remediations(); }
  void process_series(std::vector<Series>& out) const override { mta_sts_memory().series(out); }
};

}  // namespace

const Check& mta_sts_check() {
  static const MtaSts unit;
  return unit;
}

}  // namespace smtp_exporter::probes
