// Alertmanager inhibit rules for the overlaps described in alerts.libsonnet. Labels missing on
// both alerts count as equal, so the same rules work for /probe jobs and for agent targets.
// Generated into docs/examples/alertmanager.yml by scripts/mixin.sh.
{
  local probe = $._config.probeLabels,
  alertmanagerInhibitRules+:: [
    // The critical SMTPCertificateExpiring mutes the warning one ...
    {
      source_matchers: ['alertname = SMTPCertificateExpiring', 'severity = critical'],
      target_matchers: ['alertname = SMTPCertificateExpiring', 'severity = warning'],
      equal: probe + ['mx'],
    },
    // ... and an expired certificate mutes both.
    {
      source_matchers: ['alertname = SMTPCertificateExpired'],
      target_matchers: ['alertname = SMTPCertificateExpiring'],
      equal: probe + ['mx'],
    },
    // Precise failures mute the generic one.
    {
      source_matchers: ['alertname =~ "SMTPNoMXReachable|SMTPAuthenticationFailing|SMTPDeliveryFailing"'],
      target_matchers: ['alertname = SMTPProbeFailing'],
      equal: probe,
    },
    // Specific alerts mute the probe_smtp_health roll-ups.
    {
      source_matchers: ['alertname =~ "SMTPCertificateExpired|SMTPAddressBlocklisted|SMTPDANEMismatch|SMTPDNSSECBogus|SMTPMTASTSMXRejected"'],
      target_matchers: ['alertname = SMTPUnhealthy'],
      equal: probe,
    },
    {
      source_matchers: ['alertname =~ "SMTPCertificateExpiring|SMTPBannerLatencyHigh|SMTPMXRecordsMissing|SMTPAddressBlocklisted|SMTPDANERolloverNotReady|SMTPMTASTSMXRejected|SMTPMTASTSStaleId|SMTPMTASTSPolicyCertificateExpiring|SMTPTLSRPTRecordInvalid|SMTPDeliveredToJunk|SMTPDeliveryLate"'],
      target_matchers: ['alertname = SMTPDegraded'],
      equal: probe,
    },
  ],
}
