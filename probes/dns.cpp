#include "dns.h"

#include <ares.h>
#include <arpa/inet.h>

#include <algorithm>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <mutex>
#include <utility>
#include <stdexcept>

namespace smtp_exporter::probes {
namespace asio = boost::asio;
using boost::system::error_code;

std::string_view to_string(DnsError e) {
  switch (e) {
    case DnsError::none: return "none";
    case DnsError::nxdomain: return "nxdomain";
    case DnsError::nodata: return "nodata";
    case DnsError::servfail: return "servfail";
    case DnsError::refused: return "refused";
    case DnsError::timeout: return "timeout";
    case DnsError::cancelled: return "cancelled";
    case DnsError::other: return "other";
  }
  return "other";
}

std::string reverse_name(const asio::ip::address& address, std::string_view suffix) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  if (address.is_v4()) {
    auto bytes = address.to_v4().to_bytes();
    for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) out += std::to_string(*it) + ".";
    out += suffix.empty() ? "in-addr.arpa" : suffix;
  } else {
    auto bytes = address.to_v6().to_bytes();
    for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) {
      out += kHex[*it & 0xf];
      out += '.';
      out += kHex[*it >> 4];
      out += '.';
    }
    out += suffix.empty() ? "ip6.arpa" : suffix;
  }
  return out;
}

DnsOptions dns_options(const config::DnsConfig& config) {
  return {config.servers, config.timeout, config.tries};
}

FailureReason failure_reason(DnsError error, bool deadline_expired) {
  if (deadline_expired) return FailureReason::timeout;
  switch (error) {
    case DnsError::nxdomain: return FailureReason::nxdomain;
    case DnsError::nodata: return FailureReason::nodata;
    case DnsError::servfail: return FailureReason::servfail;
    case DnsError::refused: return FailureReason::refused;
    case DnsError::timeout: return FailureReason::timeout;
    default: return FailureReason::dns_error;
  }
}

namespace {

DnsError classify(int status) {
  switch (status) {
    case ARES_SUCCESS: return DnsError::none;
    case ARES_ENOTFOUND: return DnsError::nxdomain;
    case ARES_ENODATA: return DnsError::nodata;
    case ARES_ESERVFAIL: return DnsError::servfail;
    case ARES_EREFUSED:
    case ARES_ECONNREFUSED: return DnsError::refused;
    case ARES_ETIMEOUT: return DnsError::timeout;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION: return DnsError::cancelled;
    default: return DnsError::other;
  }
}

// Carries an Asio completion handler through c-ares' `void* arg`, and
// completes it on the handler's executor, never inline: c-ares may call
// back from inside ares_query or ares_destroy.
// Above zero while ~DnsResolver runs ares_destroy. The callbacks c-ares makes
// then (ARES_EDESTRUCTION) belong to lookups whose waiting coroutine is torn
// down with the resolver: the resolver lives in that coroutine's frame (or in
// an object it holds), so this happens only when the frame is destroyed
// unfinished, i.e. at shutdown (execution_context::shutdown). A completion
// posted then would sit in a loop that never runs it again and leak with the
// frame it owns; dropping the handler destroys that frame instead.
thread_local int resolvers_being_destroyed = 0;

template <typename Handler, typename Result>
struct Pending {
  Handler handler;
  static void complete(void* arg, Result result) {
    std::unique_ptr<Pending> self(static_cast<Pending*>(arg));
    if (resolvers_being_destroyed > 0) return;  // the handler goes with `self`
    auto executor = asio::get_associated_executor(self->handler);
    asio::post(executor, [h = std::move(self->handler), r = std::move(result)]() mutable { h(std::move(r)); });
  }
};

void add_address(std::vector<asio::ip::address>& out, const sockaddr* sa) {
  asio::ip::address address;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    address = asio::ip::address_v4(ntohl(in->sin_addr.s_addr));
  } else if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    asio::ip::address_v6::bytes_type bytes;
    std::copy(std::begin(in6->sin6_addr.s6_addr), std::end(in6->sin6_addr.s6_addr), bytes.begin());
    address = asio::ip::address_v6(bytes);
  } else {
    return;
  }
  if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(address);
}

}  // namespace

struct DnsResolver::State : std::enable_shared_from_this<State> {
  explicit State(const asio::any_io_executor& ex) : executor(ex), timer(ex) {}

  // One socket c-ares asked us to watch. Never closed here: c-ares owns it.
  struct Watch {
    Watch(const asio::any_io_executor& ex, int fd) : descriptor(ex, fd) {}
    asio::posix::stream_descriptor descriptor;
    bool want_read = false, want_write = false, reading = false, writing = false;
  };

  asio::any_io_executor executor;
  ares_channel channel = nullptr;
  asio::steady_timer timer;
  std::map<int, std::shared_ptr<Watch>> watches;

  // Once: by ~DnsResolver, or by the loop's shutdown (DnsShutdown) when a
  // coroutine still waits on a lookup. Pending callbacks run with
  // ARES_EDESTRUCTION, and their handlers are dropped (see Pending).
  void destroy_channel() {
    if (!channel) return;
    timer.cancel();
    ares_channel doomed = std::exchange(channel, nullptr);
    ++resolvers_being_destroyed;
    ares_destroy(doomed);
    --resolvers_being_destroyed;
    for (auto& [fd, watch] : watches) watch->descriptor.release();
  }

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<State*>(data);
    if (!readable && !writable) {
      if (auto it = self->watches.find(fd); it != self->watches.end()) {
        it->second->descriptor.release();  // also aborts its pending waits
        self->watches.erase(it);
      }
      return;
    }
    auto& watch = self->watches[fd];
    if (!watch) watch = std::make_shared<Watch>(self->executor, fd);
    watch->want_read = readable;
    watch->want_write = writable;
    self->arm(watch, fd);
  }

  auto on_ready(const std::shared_ptr<Watch>& watch, int read_fd, int write_fd, bool Watch::*busy) {
    return [weak_self = weak_from_this(), weak_watch = std::weak_ptr<Watch>(watch), read_fd, write_fd,
            busy](const error_code& ec) {
      auto self = weak_self.lock();
      auto w = weak_watch.lock();
      if (!self || !w) return;
      w.get()->*busy = false;
      if (ec) return;  // released or cancelled
      ares_process_fd(self->channel, read_fd, write_fd);
      int fd = read_fd != ARES_SOCKET_BAD ? read_fd : write_fd;
      if (auto it = self->watches.find(fd); it != self->watches.end() && it->second == w) self->arm(w, fd);
      self->schedule_timeout();
    };
  }

  void arm(const std::shared_ptr<Watch>& watch, int fd) {
    if (watch->want_read && !watch->reading) {
      watch->reading = true;
      watch->descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                                   on_ready(watch, fd, ARES_SOCKET_BAD, &Watch::reading));
    }
    if (watch->want_write && !watch->writing) {
      watch->writing = true;
      watch->descriptor.async_wait(asio::posix::descriptor_base::wait_write,
                                   on_ready(watch, ARES_SOCKET_BAD, fd, &Watch::writing));
    }
  }

  // c-ares' retries and timeouts run on our timer.
  void schedule_timeout() {
    timeval tv{};
    if (!ares_timeout(channel, nullptr, &tv)) {
      timer.cancel();
      return;
    }
    timer.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
    timer.async_wait([weak = weak_from_this()](const error_code& ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      self->schedule_timeout();
    });
  }
};

namespace {

// A coroutine waiting on a lookup is owned by the handler c-ares holds, and the
// coroutine's frame owns the resolver, and so the channel: a cycle that no
// completion breaks once the loop has stopped. The loop's shutdown
// (execution_context::shutdown, at exit) calls this service, which destroys
// every live channel, so the waiting frames are destroyed, not leaked.
class DnsShutdown : public asio::execution_context::service {
 public:
  using key_type = DnsShutdown;
  static asio::execution_context::id id;
  explicit DnsShutdown(asio::execution_context& context) : asio::execution_context::service(context) {}

  void add(const std::shared_ptr<DnsResolver::State>& state) {
    std::lock_guard lock(mutex_);
    std::erase_if(states_, [](const auto& weak) { return weak.expired(); });
    states_.push_back(state);
  }

 private:
  void shutdown() override {
    std::vector<std::shared_ptr<DnsResolver::State>> live;
    {
      std::lock_guard lock(mutex_);
      for (const auto& weak : states_)
        if (auto state = weak.lock()) live.push_back(std::move(state));
      states_.clear();
    }
    for (const auto& state : live) state->destroy_channel();
  }

  std::mutex mutex_;
  std::vector<std::weak_ptr<DnsResolver::State>> states_;
};

asio::execution_context::id DnsShutdown::id;

}  // namespace

DnsResolver::DnsResolver(const asio::any_io_executor& executor, const DnsOptions& options)
    : state_(std::make_shared<State>(executor)) {
  static std::once_flag init;
  std::call_once(init, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  ares_options opts{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_FLAGS;
  opts.sock_state_cb = &State::on_socket_state;
  opts.sock_state_cb_data = state_.get();
  // Report SERVFAIL and REFUSED as such instead of "connection refused".
  opts.flags = ARES_FLAG_NOCHECKRESP;
  if (options.timeout.count() > 0) {
    opts.timeout = static_cast<int>(options.timeout.count());
    mask |= ARES_OPT_TIMEOUTMS;
  }
  if (options.tries > 0) {
    opts.tries = options.tries;
    mask |= ARES_OPT_TRIES;
  }
  if (int status = ares_init_options(&state_->channel, &opts, mask); status != ARES_SUCCESS)
    throw std::runtime_error(std::string("DNS resolver: ") + ares_strerror(status));
  if (!options.servers.empty()) {
    std::string csv;
    for (const auto& s : options.servers) csv += (csv.empty() ? "" : ",") + s;
    if (int status = ares_set_servers_ports_csv(state_->channel, csv.c_str()); status != ARES_SUCCESS) {
      ares_destroy(std::exchange(state_->channel, nullptr));
      throw std::runtime_error("DNS servers \"" + csv + "\": " + ares_strerror(status));
    }
  }
  asio::use_service<DnsShutdown>(asio::query(executor, asio::execution::context)).add(state_);
}

BoundedResolver::BoundedResolver(const asio::any_io_executor& executor, const config::DnsConfig& dns,
                                 std::chrono::steady_clock::time_point at)
    : resolver(std::make_shared<DnsResolver>(executor, dns_options(dns))), deadline(executor, at) {
  deadline.async_wait([weak = std::weak_ptr<DnsResolver>(resolver)](const error_code& e) {
    if (auto r = weak.lock(); r && !e) r->cancel();
  });
}

BoundedResolver::~BoundedResolver() { deadline.cancel(); }

DnsResolver::~DnsResolver() { state_->destroy_channel(); }

void DnsResolver::cancel() {
  if (state_->channel) ares_cancel(state_->channel);
}

asio::awaitable<AddressLookup> DnsResolver::addresses(const std::string& name) {
  auto initiate = [this, &name](auto handler) {
    using P = Pending<decltype(handler), AddressLookup>;
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    ares_getaddrinfo(
        state_->channel, name.c_str(), nullptr, &hints,
        [](void* arg, int status, int, ares_addrinfo* info) {
          AddressLookup lookup;
          lookup.error = classify(status);
          if (status != ARES_SUCCESS) lookup.detail = ares_strerror(status);
          for (auto* node = info ? info->nodes : nullptr; node; node = node->ai_next)
            add_address(lookup.addresses, node->ai_addr);
          if (info) ares_freeaddrinfo(info);
          if (lookup.error == DnsError::none && lookup.addresses.empty()) lookup.error = DnsError::nodata;
          P::complete(arg, std::move(lookup));
        },
        new P{std::move(handler)});
    state_->schedule_timeout();
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(AddressLookup)>(initiate,
                                                                                                asio::use_awaitable);
}

namespace {

// The answer parsers of DnsResolver::query: `result.error` is `none` on entry.
template <typename Result>
void set_status(Result& result, int status) {
  result.error = classify(status);
  if (status != ARES_SUCCESS) result.detail = ares_strerror(status);
}

void parse_mx(unsigned char* answer, int length, MxLookup& lookup) {
  ares_mx_reply* replies = nullptr;
  int status = ares_parse_mx_reply(answer, length, &replies);
  set_status(lookup, status);
  for (auto* r = replies; r; r = r->next) lookup.records.push_back({r->host, r->priority});
  if (replies) ares_free_data(replies);
  std::sort(lookup.records.begin(), lookup.records.end(), [](const MxRecord& a, const MxRecord& b) {
    return std::tie(a.preference, a.exchange) < std::tie(b.preference, b.exchange);
  });
}

void parse_ptr(unsigned char* answer, int length, PtrLookup& lookup) {
  hostent* host = nullptr;
  // The address is only copied into the hostent: any will do.
  in6_addr any{};
  int status = ares_parse_ptr_reply(answer, length, &any, sizeof any, AF_INET6, &host);
  set_status(lookup, status);
  if (host) {
    auto add = [&](const char* n) {
      std::string text = n;
      if (!text.empty() && text.back() == '.') text.pop_back();
      if (!text.empty() && std::find(lookup.names.begin(), lookup.names.end(), text) == lookup.names.end())
        lookup.names.push_back(std::move(text));
    };
    if (host->h_name) add(host->h_name);
    for (char** alias = host->h_aliases; alias && *alias; ++alias) add(*alias);
    ares_free_hostent(host);
  }
  if (lookup.error == DnsError::none && lookup.names.empty()) lookup.error = DnsError::nodata;
}

void parse_a(unsigned char* answer, int length, ALookup& lookup) {
  hostent* host = nullptr;
  ares_addrttl ttls[32];
  int count = 32;
  int status = ares_parse_a_reply(answer, length, &host, ttls, &count);
  set_status(lookup, status);
  if (host) ares_free_hostent(host);
  if (status != ARES_SUCCESS) return;
  for (int i = 0; i < count; ++i) {
    lookup.addresses.push_back(asio::ip::address_v4(ntohl(ttls[i].ipaddr.s_addr)));
    auto ttl = std::chrono::seconds(std::max(ttls[i].ttl, 0));
    lookup.ttl = i == 0 ? ttl : std::min(lookup.ttl, ttl);
  }
  if (lookup.addresses.empty()) lookup.error = DnsError::nodata;
}

void parse_txt(unsigned char* answer, int length, TxtLookup& lookup) {
  ares_txt_ext* replies = nullptr;
  int status = ares_parse_txt_reply_ext(answer, length, &replies);
  set_status(lookup, status);
  for (auto* r = replies; r; r = r->next) {
    if (r->record_start || lookup.texts.empty()) lookup.texts.emplace_back();
    lookup.texts.back().append(reinterpret_cast<const char*>(r->txt), r->length);
  }
  if (replies) ares_free_data(replies);
  if (lookup.error == DnsError::none && lookup.texts.empty()) lookup.error = DnsError::nodata;
}

}  // namespace

template <typename Result, void (*Parse)(unsigned char*, int, Result&)>
asio::awaitable<Result> DnsResolver::query(const std::string& name, int type) {
  auto initiate = [this, &name, type](auto handler) {
    using P = Pending<decltype(handler), Result>;
    ares_query(
        state_->channel, name.c_str(), 1 /* C_IN */, type,
        [](void* arg, int status, int, unsigned char* answer, int length) {
          Result result;
          if (status == ARES_SUCCESS)
            Parse(answer, length, result);
          else
            set_status(result, status);
          P::complete(arg, std::move(result));
        },
        new P{std::move(handler)});
    state_->schedule_timeout();
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Result)>(initiate,
                                                                                         asio::use_awaitable);
}

asio::awaitable<MxLookup> DnsResolver::mx(const std::string& domain) {
  co_return co_await query<MxLookup, parse_mx>(domain, 15 /* T_MX */);
}

asio::awaitable<PtrLookup> DnsResolver::ptr(const asio::ip::address& address) {
  const std::string name = reverse_name(address);
  co_return co_await query<PtrLookup, parse_ptr>(name, 12 /* T_PTR */);
}

asio::awaitable<ALookup> DnsResolver::a(const std::string& name) {
  co_return co_await query<ALookup, parse_a>(name, 1 /* T_A */);
}

asio::awaitable<TxtLookup> DnsResolver::txt(const std::string& name) {
  co_return co_await query<TxtLookup, parse_txt>(name, 16 /* T_TXT */);
}

}  // namespace smtp_exporter::probes
