// Validated look-ups through libunbound (dnssec.h).
//
// Threads: the exporter may run its io_context on several threads, and the
// validator is shared by every probe, so its state (the ub_ctx calls, the
// pending queries, the watch on the result pipe) is under one mutex.
// libunbound's callbacks run inside ub_process(), with that mutex held; each
// posts the wake-up of its look-up to the look-up's own strand.
#include "dnssec.h"

#include <unbound.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;

class Validator;

struct Query {
  Validator* validator = nullptr;
  asio::any_io_executor executor;  // the look-up's strand
  std::shared_ptr<asio::steady_timer> wake;
  int id = 0;
  bool done = false;  // under the validator's mutex
  ValidatedAnswer answer;
};

// "IP", "IP:PORT", "[IPV6]:PORT" (as [dns] servers) → libunbound's "IP@PORT".
std::string forwarder(const std::string& server) {
  if (server.starts_with("[")) {
    auto close = server.find(']');
    std::string ip = server.substr(1, close - 1);
    return close + 1 < server.size() ? ip + "@" + server.substr(close + 2) : ip;
  }
  if (std::count(server.begin(), server.end(), ':') == 1) {
    auto colon = server.find(':');
    return server.substr(0, colon) + "@" + server.substr(colon + 1);
  }
  return server;
}

void fill(ValidatedAnswer& a, int err, ub_result* r) {
  if (err != 0 || !r) {
    a.status = DnssecStatus::indeterminate;
    a.error = ub_strerror(err);
    return;
  }
  a.rcode = r->rcode;
  a.nxdomain = r->nxdomain != 0;
  a.havedata = r->havedata != 0;
  if (r->canonname) {
    a.canonname = r->canonname;
    if (!a.canonname.empty() && a.canonname.back() == '.') a.canonname.pop_back();
  }
  if (r->bogus) {
    a.status = DnssecStatus::bogus;
    a.why_bogus = r->why_bogus ? r->why_bogus : "validation failed";
  } else if (r->secure) {
    a.status = DnssecStatus::secure;
  } else if (r->rcode != 0 && r->rcode != 3) {  // SERVFAIL, REFUSED...: no answer to judge
    a.status = DnssecStatus::indeterminate;
    a.error = r->rcode == 2 ? "SERVFAIL" : r->rcode == 5 ? "REFUSED" : "rcode " + std::to_string(r->rcode);
  } else {
    a.status = DnssecStatus::insecure;
  }
  if (r->havedata)
    for (int i = 0; r->data[i]; ++i) a.rdata.emplace_back(r->data[i], r->data[i] + r->len[i]);
  ub_resolve_free(r);
}

class Validator : public std::enable_shared_from_this<Validator> {
 public:
  explicit Validator(const ValidatorOptions& options) : ctx_(ub_ctx_create()) {
    if (!ctx_) {
      error_ = "cannot create the libunbound context";
      return;
    }
    auto check = [&](int r, const std::string& what) {
      if (r != 0 && error_.empty()) error_ = what + ": " + ub_strerror(r);
    };
    check(ub_ctx_async(ctx_, 1), "libunbound threads");  // a thread, never a fork
    for (const auto& server : options.servers) check(ub_ctx_set_fwd(ctx_, forwarder(server).c_str()), "forwarder " + server);
    // A forwarder on loopback (a local resolver, the tests' nsd) is asked too.
    if (!options.servers.empty()) check(ub_ctx_set_option(ctx_, "do-not-query-localhost:", "no"), "option");
    std::string anchor = options.trust_anchor_file.empty() ? std::string(kRootAnchorFile) : options.trust_anchor_file;
    check(ub_ctx_add_ta_file(ctx_, anchor.c_str()), "trust anchor " + anchor);
  }
  Validator(const Validator&) = delete;
  Validator& operator=(const Validator&) = delete;

  // Starts the look-up; false when it could not be (query->answer says why).
  void submit(const std::shared_ptr<Query>& query, const std::string& name, int rrtype) {
    std::lock_guard lock(mutex_);
    if (!error_.empty()) {
      query->answer.error = error_;
      query->done = true;
      return;
    }
    query->validator = this;
    int r = ub_resolve_async(ctx_, name.c_str(), rrtype, 1, query.get(), &Validator::answered, &query->id);
    if (r != 0) {
      query->answer.error = ub_strerror(r);
      query->done = true;
      return;
    }
    pending_[query.get()] = query;
    if (!pipe_) pipe_ = std::make_unique<asio::posix::stream_descriptor>(query->executor, ub_fd(ctx_));
    settle();
  }

  // The deadline passed: the look-up is dropped unless its answer came.
  void give_up(const std::shared_ptr<Query>& query) {
    std::lock_guard lock(mutex_);
    if (query->done) return;
    ub_cancel(ctx_, query->id);
    pending_.erase(query.get());
    query->done = true;
    query->answer.status = DnssecStatus::indeterminate;
    query->answer.error = "timed out";
    settle();
  }

 private:
  // Called by ub_process(), mutex held.
  static void answered(void* data, int err, ub_result* result) {
    auto* query = static_cast<Query*>(data);
    Validator* self = query->validator;
    fill(query->answer, err, result);
    query->done = true;
    auto it = self->pending_.find(query);
    if (it == self->pending_.end()) return;
    std::shared_ptr<Query> keep = std::move(it->second);
    self->pending_.erase(it);
    asio::post(keep->executor, [keep] { keep->wake->cancel(); });
  }

  // Watches the result pipe while look-ups are pending; releases it (never
  // closes: libunbound owns the fd) when none is. The wait is armed before
  // ub_process() drains the pipe, so no answer arrives unseen in between.
  void settle() {
    while (true) {
      if (pending_.empty()) {
        if (pipe_) {
          pipe_->release();  // cancels the wait: its handler sees a newer generation
          pipe_.reset();
          ++generation_;
          armed_ = false;
        }
        return;
      }
      if (armed_) return;
      armed_ = true;
      pipe_->async_wait(asio::posix::stream_descriptor::wait_read,
                        [self = shared_from_this(), generation = generation_](const boost::system::error_code&) {
                          std::lock_guard lock(self->mutex_);
                          if (generation != self->generation_) return;
                          self->armed_ = false;
                          ub_process(self->ctx_);
                          self->settle();
                        });
      ub_process(ctx_);
    }
  }

  std::mutex mutex_;
  ub_ctx* ctx_;
  std::string error_;  // set up failed: every look-up is indeterminate with it
  std::map<Query*, std::shared_ptr<Query>> pending_;
  std::unique_ptr<asio::posix::stream_descriptor> pipe_;
  bool armed_ = false;
  std::uint64_t generation_ = 0;
};

// One validator per settings, for the life of the process (its cache is the
// point; a reload with other settings makes another). Never destroyed: at
// exit libunbound's thread may still run, and a watch on its pipe would
// outlive the event loop.
std::shared_ptr<Validator> validator_for(const ValidatorOptions& options) {
  static std::mutex mutex;
  static auto& validators = *new std::vector<std::pair<ValidatorOptions, std::shared_ptr<Validator>>>;
  std::lock_guard lock(mutex);
  for (const auto& [o, v] : validators)
    if (o == options) return v;
  validators.emplace_back(options, std::make_shared<Validator>(options));
  return validators.back().second;
}

asio::awaitable<ValidatedAnswer> lookup_on_strand(std::shared_ptr<Validator> validator, std::string name, int rrtype,
                                                  std::chrono::steady_clock::time_point deadline) {
  auto query = std::make_shared<Query>();
  query->executor = co_await asio::this_coro::executor;
  query->wake = std::make_shared<asio::steady_timer>(query->executor, deadline);
  validator->submit(query, name, rrtype);
  if (query->done) co_return std::move(query->answer);  // could not be asked
  // Woken by the answer (which cancels the timer) or by the deadline.
  boost::system::error_code ec;
  co_await query->wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  validator->give_up(query);  // no-op when answered
  co_return std::move(query->answer);
}

}  // namespace

std::string_view to_string(DnssecStatus status) {
  switch (status) {
    case DnssecStatus::secure: return "secure";
    case DnssecStatus::insecure: return "insecure";
    case DnssecStatus::bogus: return "bogus";
    case DnssecStatus::indeterminate: return "indeterminate";
  }
  return "indeterminate";
}

ValidatorOptions validator_options(const config::DnsConfig& dns) { return {dns.servers, dns.trust_anchor_file}; }

asio::awaitable<ValidatedAnswer> validated_lookup(const ValidatorOptions& options, const std::string& name,
                                                  int rrtype, std::chrono::steady_clock::time_point deadline) {
  auto validator = validator_for(options);
  auto executor = co_await asio::this_coro::executor;
  // On a strand of its own, so the answer's wake-up never runs before the wait.
  auto strand = asio::make_strand(executor);
  // Named, not a temporary inside the co_await (GCC PR 100611).
  asio::awaitable<ValidatedAnswer> lookup = lookup_on_strand(validator, name, rrtype, deadline);
  co_return co_await asio::co_spawn(strand, std::move(lookup), asio::use_awaitable);
}

std::string anchor_zone(const ValidatorOptions& options) {
  if (options.trust_anchor_file.empty()) return ".";
  std::ifstream in(options.trust_anchor_file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ';' || line[0] == '$' || line[0] == ' ' || line[0] == '\t') continue;
    return line.substr(0, line.find_first_of(" \t"));
  }
  return ".";
}

}  // namespace smtp_exporter::probes
