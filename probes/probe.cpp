// run_probe: the probe's one deadline, started here, and the pipeline above
// both kinds of target: a mail domain runs the domain units (the MX fan-out,
// which probes each host through probe_host), a single host its own pipeline.
#include "smtp_exporter/probe.h"

#include "host_probe.h"
#include "smtp_exporter/check.h"
#include "verdict.h"

namespace smtp_exporter::probes {

boost::asio::awaitable<ProbeResult> run_probe(const ProbeRequest& request) {
  const Deadline deadline(request.timeout);
  if (!request.mx) co_return co_await run_host_probe(request, deadline);
  auto started = std::chrono::steady_clock::now();
  ProbeResult result;
  CheckContext context{request, result, deadline, nullptr,
                       [&deadline](const ProbeRequest& host) { return run_host_probe(host, deadline); }};
  for (const Check* check : enabled_checks(Phase::domain, request.module)) co_await check->run(context);
  finish(result, started, request);
  co_return result;
}

}  // namespace smtp_exporter::probes
