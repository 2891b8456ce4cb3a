// The one HTTP client of the exporter (Boost.Beast over OpenSSL), for the
// MTA-STS policy. The whole fetch is bounded by the probe's deadline through
// beast::tcp_stream's timeout, set once at the deadline: it applies to every
// later operation (connect, handshake, write, reads) and closes the socket
// when it passes, which Boost 1.74's missing per-operation cancellation
// would otherwise need a timer for.
#include "mta_sts_fetch.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>

#include "dns.h"
#include "mta_sts_policy.h"
#include "tls.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

std::string describe(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return "deadline exceeded";
  return ec.message();
}

}  // namespace

std::string_view to_string(PolicyFetch::Outcome outcome) {
  switch (outcome) {
    case PolicyFetch::Outcome::ok: return "ok";
    case PolicyFetch::Outcome::fetch_error: return "fetch_error";
    case PolicyFetch::Outcome::certificate: return "certificate";
    case PolicyFetch::Outcome::http_status: return "http_status";
    case PolicyFetch::Outcome::content_type: return "content_type";
    case PolicyFetch::Outcome::too_large: return "too_large";
  }
  return "fetch_error";
}

bool is_text_plain(std::string_view value) {
  std::string_view type = value.substr(0, value.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  std::string lower(type);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "text/plain";
}

asio::awaitable<PolicyFetch> fetch_sts_policy(const std::string& domain, std::uint16_t port,
                                              const config::DnsConfig& dns, const std::shared_ptr<TlsContext>& context,
                                              const Deadline& deadline) {
  PolicyFetch out;
  auto started = Clock::now();
  const std::string host = "mta-sts." + domain;
  out.url = "https://" + host + (port == 443 ? "" : ":" + std::to_string(port)) + "/.well-known/mta-sts.txt";
  auto done = [&](PolicyFetch::Outcome outcome, std::string detail) {
    out.outcome = outcome;
    out.detail = std::move(detail);
    out.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  };
  auto executor = co_await asio::this_coro::executor;

  std::vector<asio::ip::address> addresses;
  {
    BoundedResolver bounded(executor, dns, deadline.at());
    AddressLookup lookup = co_await bounded.resolver->addresses(host);
    if (lookup.error != DnsError::none || lookup.addresses.empty()) {
      done(PolicyFetch::Outcome::fetch_error,
           "resolving " + host + ": " + (deadline.passed() ? "deadline exceeded" : std::string(to_string(lookup.error))));
      co_return out;
    }
    addresses = lookup.addresses;
  }

  asio::ssl::context* ssl_context = nullptr;
  try {
    ssl_context = &context->ssl();  // built by the first fetch that needs it
  } catch (const std::exception& e) {
    done(PolicyFetch::Outcome::fetch_error, std::string("tls_config: ") + e.what());
    co_return out;
  }
  beast::ssl_stream<beast::tcp_stream> stream(executor, *ssl_context);
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  tcp.expires_at(deadline.at());
  boost::system::error_code ec;
  std::string connect_errors;
  for (const auto& address : addresses) {
    asio::ip::tcp::endpoint endpoint(address, port);
    co_await tcp.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      out.address = address.to_string();
      break;
    }
    connect_errors += (connect_errors.empty() ? "" : "; ") + address.to_string() + ": " + describe(ec);
    if (ec == beast::error::timeout) break;
    tcp.close();
  }
  if (out.address.empty()) {
    done(PolicyFetch::Outcome::fetch_error, "connecting to " + host + " port " + std::to_string(port) + ": " + connect_errors);
    co_return out;
  }

  std::vector<int> x509_errors;
  prepare_session(stream.native_handle(), host);  // SNI and the host name check (RFC 8461 §3.3)
  stream.set_verify_mode(asio::ssl::verify_peer);
  stream.set_verify_callback([errors = &x509_errors](bool preverified, asio::ssl::verify_context& ctx) {
    if (!preverified) errors->push_back(X509_STORE_CTX_get_error(ctx.native_handle()));
    return true;  // judged after the handshake, so that the chain's facts are known
  });
  co_await stream.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    done(PolicyFetch::Outcome::fetch_error, "TLS handshake with " + host + " (" + out.address + "): " + describe(ec));
    co_return out;
  }
  out.tls = inspect_session(stream.native_handle(), x509_errors, host, std::chrono::system_clock::now());
  if (!out.tls->verified) {
    std::string problems;
    for (const auto& e : out.tls->verify_errors) problems += (problems.empty() ? "" : ", ") + e;
    done(PolicyFetch::Outcome::certificate, "the certificate of " + host + " is not valid for it (" + problems + ")" +
                                                (out.tls->verify_detail.empty() ? "" : ": " + out.tls->verify_detail));
    co_return out;
  }

  http::request<http::empty_body> request{http::verb::get, "/.well-known/mta-sts.txt", 11};
  request.set(http::field::host, port == 443 ? host : host + ":" + std::to_string(port));
  request.set(http::field::user_agent, "smtp_exporter");
  request.set(http::field::connection, "close");
  co_await http::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    done(PolicyFetch::Outcome::fetch_error, "sending the request to " + host + ": " + describe(ec));
    co_return out;
  }

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(kStsBodyLimit);
  co_await http::async_read_header(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec && ec != http::error::body_limit) {
    done(PolicyFetch::Outcome::fetch_error, "reading the response of " + host + ": " + describe(ec));
    co_return out;
  }
  const auto& header = parser.get();
  out.status = static_cast<int>(header.result_int());
  out.content_type = sts_printable(header[http::field::content_type], 100);
  out.location = sts_printable(header[http::field::location], 200);
  if (out.status != 200) {
    // RFC 8461 §3.3: "HTTP 3xx redirects MUST NOT be followed", and only 200 carries a policy.
    done(PolicyFetch::Outcome::http_status,
         host + " answered HTTP " + std::to_string(out.status) +
             (out.location.empty() ? "" : " (a redirect to " + out.location + ", not followed)"));
    co_return out;
  }
  if (!is_text_plain(header[http::field::content_type])) {
    done(PolicyFetch::Outcome::content_type,
         host + " sent the policy as \"" + out.content_type + "\", not text/plain");
    co_return out;
  }
  if (!ec) co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == http::error::body_limit) {
    done(PolicyFetch::Outcome::too_large, "the policy of " + host + " is larger than " +
                                              std::to_string(kStsBodyLimit / 1024) + " KiB");
    co_return out;
  }
  if (ec) {
    done(PolicyFetch::Outcome::fetch_error, "reading the policy of " + host + ": " + describe(ec));
    co_return out;
  }
  out.body = parser.release().body();
  done(PolicyFetch::Outcome::ok, "");
  tcp.close();  // Connection: close; no TLS close_notify wait on the probe's time
  co_return out;
}

}  // namespace smtp_exporter::probes
