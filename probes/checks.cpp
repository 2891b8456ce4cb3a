// The check units and their order in the pipeline. Adding a check: its unit
// under probes/checks/ and one line here (docs/development.md).
#include "smtp_exporter/check.h"

#include "checks/fcrdns.h"

namespace smtp_exporter::probes {

const std::vector<const Check*>& checks() {
  static const std::vector<const Check*> units{
      &fcrdns_check(),
  };
  return units;
}

boost::asio::awaitable<void> run_checks(const ProbeRequest& request, ProbeResult& result,
                                        std::chrono::steady_clock::time_point deadline) {
  for (const Check* check : checks()) {
    if (!check->enabled(request.module)) continue;
    CheckContext context{request, result, deadline};
    co_await check->run(context);
  }
}

std::vector<Series> check_series(const ProbeResult& result) {
  std::vector<Series> out;
  for (const Check* check : checks()) check->series(result, out);
  return out;
}

std::vector<Finding> check_findings(const ProbeResult& result) {
  std::vector<Finding> out;
  for (const Check* check : checks()) check->findings(result, out);
  return out;
}

}  // namespace smtp_exporter::probes
