// Configuration of the smtp_exporter mixin. Override any field with
//   (import 'mixin.libsonnet') + { _config+:: { grafanaUrl: 'https://grafana.example.net' } }
// and regenerate (see mixin/README.md).
{
  _config+:: {
    // Label matchers added to every selector of the alerts and dashboards, e.g.
    // 'env="prod"' or 'job=~"smtp.*"'. Empty: every series of the metric names below (the
    // rules already leave blackbox_exporter's probe_success alone, see alerts/alerts.libsonnet).
    probeSelector: '',
    // The labels that identify one probe in both modes: /probe scrapes (job, instance = the
    // SMTP target, maybe module) and agent mode (job and instance of the exporter, target_name).
    probeLabels: ['job', 'instance', 'target_name', 'module'],
    // SMTPExporterScrapeErrors: `up == 0` of jobs matching this regex counts even before the job
    // ever returned smtp_exporter series.
    scrapeJobRegex: 'smtp.*',

    // Links in the alerts' annotations.
    grafanaUrl: 'https://grafana.example.com',
    // %s is the alert name.
    runbookURLPattern: 'https://github.com/smtp-exporter/smtp_exporter/blob/main/docs/runbooks/%s.md',

    // Thresholds.
    bannerLatencyThresholdSeconds: 2,  // the exporter's default degraded_banner_latency
    certExpiryWarningDays: 14,
    certExpiryCriticalDays: 3,
    // Lookback of the certificate alerts: they keep firing while probes fail for this long.
    certExpiryLookback: '1d',
    temporaryFailureRatio: 0.5,
    temporaryFailureWindow: '30m',

    // `for:` durations, by alert.
    'for': {
      SMTPProbeFailing: '5m',
      SMTPUnhealthy: '15m',
      SMTPDegraded: '1h',
      SMTPBannerLatencyHigh: '15m',
      SMTPCertificateExpiring: '15m',
      SMTPCertificateExpired: '5m',
      SMTPCertificateNotVerified: '30m',
      SMTPStartTLSMissing: '30m',
      SMTPMXRecordsMissing: '30m',
      SMTPNoMXReachable: '5m',
      SMTPMXHostFailing: '30m',
      SMTPAuthenticationFailing: '5m',
      SMTPTemporaryFailuresPersisting: '15m',
      SMTPExporterScrapeErrors: '10m',
      SMTPExporterConfigReloadFailed: '10m',
      SMTPAddressBlocklisted: '15m',
      SMTPDNSBLZoneBroken: '30m',
      SMTPDANEMismatch: '5m',
      SMTPDNSSECBogus: '5m',
      SMTPDANERolloverNotReady: '1d',
      SMTPDeliveryFailing: '15m',
      SMTPDeliveredToJunk: '30m',
      SMTPDeliveryLate: '5m',
      SMTPMTASTSMXRejected: '15m',
      SMTPMTASTSStaleId: '15m',
      SMTPMTASTSPolicyCertificateExpiring: '15m',
      SMTPTLSRPTRecordInvalid: '1h',
    },

    // Dashboards.
    dashboardUIDs: {
      'smtp-exporter-overview.json': 'smtp-exporter-overview',
      'smtp-exporter-target.json': 'smtp-exporter-target',
    },
    dashboardTags: ['smtp', 'smtp_exporter'],
    dashboardTitlePrefix: 'SMTP exporter / ',
    dashboardRefresh: '1m',
    dashboardTime: { from: 'now-6h', to: 'now' },
    // Text shown by the panels of the collapsed MX and AUTH rows when nothing reports them.
    noMXText: 'no mail domain (mx:) probed',
    noAuthText: 'no module with [auth] or [send]',
    noDnsblText: 'no module with dnsbl = true',
    noDeliveryText: 'no module with [receive]',
    noMtaStsText: 'no module with mta_sts = true',
    noDaneText: 'no module with dane = true',
  },
}
