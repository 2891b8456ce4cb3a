// Built-in modules, so the exporter is useful with no config file at all.
#include "smtp_exporter/config.h"

namespace smtp_exporter::config {

Config default_config() {
  Config config;
  config.source = "<built-in defaults>";
  Module banner;  // MX-style port 25: greeting + EHLO
  config.modules.emplace("smtp_banner", banner);
  Module submission = banner;  // mail submission (RFC 6409)
  submission.port = 587;
  config.modules.emplace("submission", submission);
  Module smtps = banner;  // implicit TLS submission (RFC 8314); TLS handshake comes with TLS support
  smtps.port = 465;
  config.modules.emplace("smtps", smtps);
  return config;
}

}  // namespace smtp_exporter::config
