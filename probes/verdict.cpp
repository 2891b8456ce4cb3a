#include "verdict.h"

#include "smtp_exporter/health.h"

namespace smtp_exporter::probes {

void finish(ProbeResult& result, std::chrono::steady_clock::time_point started, const ProbeRequest& request) {
  result.success = !result.failure;
  result.timeout_seconds = std::chrono::duration<double>(request.timeout).count();
  result.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.health = classify_health(result, request.module);
  result.log.push_back({std::chrono::system_clock::now(), result.success ? LogEntry::Kind::info : LogEntry::Kind::error,
                        std::string(result.success ? "Probe succeeded" : "Probe failed") + " after " +
                            std::to_string(result.duration_seconds) + "s"});
}

}  // namespace smtp_exporter::probes
