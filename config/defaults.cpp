// Built-in modules, so the exporter is useful with no config file at all.
#include "smtp_exporter/config.h"

namespace smtp_exporter::config {

Config default_config() {
  Config config;
  config.source = "<built-in defaults>";
  Module banner;  // MX-style port 25: greeting + EHLO, no TLS
  config.modules.emplace("smtp_banner", banner);
  Module starttls = banner;  // port 25 with STARTTLS required and the certificate checked
  starttls.tls = TlsMode::starttls;
  config.modules.emplace("smtp_starttls", starttls);
  Module submission = starttls;  // mail submission (RFC 6409) with STARTTLS
  submission.port = 587;
  config.modules.emplace("submission", submission);
  Module smtps = banner;  // implicit TLS submission (RFC 8314)
  smtps.port = 465;
  smtps.tls = TlsMode::implicit;
  config.modules.emplace("smtps", smtps);
  Module mx_only = banner;  // a mail domain's MX set, by DNS alone: no SMTP connection
  mx_only.mx = true;
  mx_only.quit_after = Step::mx;
  config.modules.emplace("mx_only", mx_only);
  // MTA-STS and TLS-RPT of a mail domain (docs/mta-sts.md): the policy, its
  // MX coverage, and every MX host's STARTTLS with its certificate checked
  // (PKIX) for its name, as senders in enforce mode check it.
  Module mta_sts = starttls;
  mta_sts.mx = true;
  mta_sts.checks.emplace("mta_sts");
  config.modules.emplace("mta_sts", mta_sts);
  return config;
}

std::optional<std::string> default_module(const Config& config) {
  if (config.modules.contains("smtp_banner")) return "smtp_banner";
  if (config.modules.size() == 1) return config.modules.begin()->first;
  return std::nullopt;
}

}  // namespace smtp_exporter::config
