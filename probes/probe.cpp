// run_probe: above both kinds of probe, so that neither calls the other back.
#include "smtp_exporter/probe.h"

#include "host_probe.h"
#include "mx_probe.h"

namespace smtp_exporter::probes {

boost::asio::awaitable<ProbeResult> run_probe(const ProbeRequest& request) {
  if (request.mx) co_return co_await run_mx_probe(request);
  co_return co_await run_host_probe(request);
}

}  // namespace smtp_exporter::probes
