// Microbenchmarks of the per-probe CPU work that does not touch a socket:
// parsing replies, parsing EHLO, and rendering the exposition text.
//   build-bench/bench/micro_bench [--benchmark_filter=Render]
// Informational only: bench/run.py checks the targets of the real binary.
#include <benchmark/benchmark.h>

#include <string>

#include "ehlo_reply.h"
#include "smtp_exporter/probe_result.h"
#include "smtp_exporter/render.h"
#include "smtp_reply.h"

namespace {

using namespace smtp_exporter;

const std::string kGreeting = "220 mail.example.test ESMTP Postfix\r\n";
const std::string kEhlo =
    "250-mail.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
    "250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"
    "250-SMTPUTF8\r\n250 CHUNKING\r\n";

void ParseGreeting(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(probes::parse_reply(kGreeting));
}
BENCHMARK(ParseGreeting);

void ParseEhloReply(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(probes::parse_reply(kEhlo));
}
BENCHMARK(ParseEhloReply);

void ParseEhloExtensions(benchmark::State& state) {
  const probes::Reply reply = probes::parse_reply(kEhlo).reply;
  for (auto _ : state) benchmark::DoNotOptimize(probes::parse_ehlo(reply));
}
BENCHMARK(ParseEhloExtensions);

// A successful plain probe, as bench/run.py's responder produces.
probes::ProbeResult plain_result() {
  probes::ProbeResult r;
  r.success = true;
  r.duration_seconds = 0.000612;
  r.timeout_seconds = 10;
  r.ip_protocol = 4;
  r.ip = "127.0.0.1";
  r.stage_seconds = {{probes::Stage::resolve, 2.5e-6},
                     {probes::Stage::connect, 0.000101},
                     {probes::Stage::banner, 0.000017},
                     {probes::Stage::ehlo, 0.000120},
                     {probes::Stage::quit, 0.000090}};
  r.banner_latency_seconds = 0.000017;
  r.banner_code = 220;
  r.last_code = 250;
  r.banner_lines = {"mail.example.test ESMTP Postfix"};
  const probes::Reply reply = probes::parse_reply(kEhlo).reply;
  auto ehlo = probes::parse_ehlo(reply);
  r.extensions = ehlo.extensions;
  r.size_limit = ehlo.size_limit;
  r.auth_mechanisms = ehlo.auth_mechanisms;
  r.starttls_offered = true;
  r.auth_before_tls = true;
  return r;
}

// The same after STARTTLS: TLS facts and a two-certificate chain.
probes::ProbeResult tls_result() {
  probes::ProbeResult r = plain_result();
  r.stage_seconds.emplace_back(probes::Stage::starttls, 0.0005);
  r.stage_seconds.emplace_back(probes::Stage::tls, 0.0074);
  r.tls_established = true;
  probes::TlsInfo tls;
  tls.version = "TLS 1.3";
  tls.cipher = "TLS_AES_256_GCM_SHA384";
  tls.server_name = "mail.example.test";
  tls.verified = true;
  probes::Certificate leaf{1763900000, 1798038826, "CN=mail.example.test", "CN=smtp_exporter e2e test CA",
                           "7c36b8ce674c8107", std::string(64, 'a')};
  probes::Certificate ca{1763900000, 1798038825, "CN=smtp_exporter e2e test CA", "CN=smtp_exporter e2e test CA",
                         "01", std::string(64, 'b')};
  tls.presented_chain = {leaf};
  tls.verified_chain = {leaf, ca};
  tls.leaf_days_to_expiry = 29.99;
  r.tls = tls;
  return r;
}

// render_metrics of one result: the text every /probe answer is made of.
void Render(benchmark::State& state, probes::ProbeResult (*make)()) {
  const probes::ProbeResult r = make();
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = exporter::render_metrics(r);
    bytes += text.size();
    benchmark::DoNotOptimize(text);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK_CAPTURE(Render, Plain, plain_result);
BENCHMARK_CAPTURE(Render, Tls, tls_result);

}  // namespace

BENCHMARK_MAIN();
