// The alerting rules. Generated into alerts/smtp_exporter.rules.yml by scripts/mixin.sh.
//
// The series come from two places, and every expression works for both:
//   - /probe scrapes: job and instance (the SMTP target) from the relabeling, maybe a `module` label;
//   - agent mode (/metrics with [[targets]]): job and instance of the exporter, plus `target_name`
//     and the target's own labels.
// A probe is therefore identified by (job, instance, target_name, module) (_config.probeLabels);
// a label that is absent is empty on both sides of a match, so `on (job, instance, target_name,
// module)` works in both modes. Nothing is aggregated away except the `ip` of an MX host
// (certificate alerts) and the `status` of the probe_smtp_health state set (SMTPUnhealthy,
// SMTPDegraded), so the labels you add (env, team, ...) stay on the alerts.
//
// probe_success and probe_ssl_* have blackbox_exporter's names. To leave blackbox_exporter's own
// probes alone, the alerts on those metrics keep only the series of a probe that also reported
// probe_smtp_tls_established (present on every smtp_exporter probe, failed or not).
//
// Overlaps, on purpose kept small (the inhibit rules are in alertmanager.libsonnet):
//   - SMTPProbeFailing is the one "down" alert. The alerts about a property of a working server
//     (SMTPUnhealthy, SMTPCertificateNotVerified, SMTPStartTLSMissing, SMTPMXHostFailing) do not
//     fire while the probe fails: SMTPProbeFailing names the stage and reason. A failure whose
//     health is degraded (not SMTP, delivered to Junk) is SMTPDegraded's, a warning, not
//     SMTPProbeFailing's: the alerts follow the health severity.
//   - SMTPNoMXReachable and SMTPAuthenticationFailing are precise cases of a failing probe; the
//     inhibit rules mute SMTPProbeFailing while one of them fires for the same probe.
//   - SMTPCertificateExpiring (warning and critical) and SMTPCertificateExpired overlap
//     (monitoring-mixins style, no gap and no misleading "resolved" at the thresholds); the
//     inhibit rules keep only the most severe one.
//   - SMTPUnhealthy and SMTPDegraded are roll-ups of probe_smtp_health with a longer `for:`,
//     muted by the inhibit rules when a specific alert fires for the same probe.
local util = import '../lib/util.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    // metric{probeSelector, matchers...}, or the bare name when there is no matcher at all.
    local m(name, matchers='') = name + util.selector([c.probeSelector, matchers]),
    local on = std.join(', ', c.probeLabels),
    // The probe, as a person reads it: the /probe target, or the agent's target name and the agent.
    local who = '{{ with $labels.target_name }}{{ . }} (agent {{ $labels.instance }}){{ else }}{{ $labels.instance }}{{ end }}',
    local withModule = '{{ with $labels.module }} with module {{ . }}{{ end }}',
    local mxHost = '{{ with $labels.mx }} (MX host {{ . }}){{ end }}',
    local forOf(name) = c['for'][name],
    local during(name) = util.humanDuration(forOf(name)),

    local alert(name, severity, expr, summary, description) = {
      alert: name,
      expr: expr,
      'for': forOf(name),
      labels: { severity: severity },
      annotations: {
        summary: summary,
        description: description,
        runbook_url: c.runbookURLPattern % name,
        dashboard_url: '%s/d/%s/%s?var-instance={{ $labels.instance }}{{ with $labels.target_name }}&var-target_name={{ . }}{{ end }}' % [
          c.grafanaUrl,
          c.dashboardUIDs['smtp-exporter-target.json'],
          c.dashboardUIDs['smtp-exporter-target.json'],
        ],
      },
    },

    // Certificate expiry, in seconds from now. The notAfter timestamps are read with
    // last_over_time over certExpiryLookback, so the alerts keep firing while probes fail (a
    // failed handshake, or a server that is down, reports no certificate). MX domains: one alert
    // per MX host (the earliest notAfter of its addresses) instead of the domain-wide
    // probe_ssl_earliest_cert_expiry.
    local certExpiry(condition) = |||
      (
        (
          (
            last_over_time(%(expiry)s[%(lookback)s])
            unless on (%(on)s)
              last_over_time(%(mxExpiry)s[%(lookback)s])
          )
          and on (%(on)s)
            last_over_time(%(tls)s[%(lookback)s])
        )
        or
        min without (ip) (last_over_time(%(mxExpiry)s[%(lookback)s]))
      ) - time()
      %(condition)s
    ||| % {
      expiry: m('probe_ssl_earliest_cert_expiry'),
      mxExpiry: m('probe_smtp_mx_host_ssl_earliest_cert_expiry_timestamp_seconds'),
      tls: m('probe_smtp_tls_established'),
      lookback: c.certExpiryLookback,
      on: on,
      condition: condition,
    },
    local certExpiring(severity, days) = alert(
      'SMTPCertificateExpiring',
      severity,
      certExpiry('< %d * 86400' % days),
      'TLS certificate of %s%s expires in less than %d days' % [who, mxHost, days],
      'A certificate presented by %s%s {{ if lt $value 0.0 }}expired {{ $value | humanizeDuration | reReplaceAll "^-" "" }} ago{{ else }}expires in {{ $value | humanizeDuration }}{{ end }} (as seen by the last probe that completed a TLS handshake).' % [who, mxHost],
    ),

    groups+: [
      {
        name: 'smtp-exporter.probe',
        rules: [
          // A failure whose health is degraded (a greeting that is not SMTP, test mail delivered
          // to Junk: probes/health.cpp failure_severity) pages no one: SMTPDegraded (and
          // SMTPDeliveredToJunk) report it, as warnings.
          alert(
            'SMTPProbeFailing',
            'critical',
            |||
              %s == 0
              and on (%s)
                %s
              unless on (%s)
                %s == 1
            ||| % [m('probe_success'), on, m('probe_smtp_tls_established'), on, m('probe_smtp_health', 'status="degraded"')],
            'SMTP probe of %s is failing' % who,
            'The SMTP probe of %s%s has failed for %s (probe_success = {{ $value }}){{ range printf "probe_smtp_failure_info{job=%%q,instance=%%q,target_name=%%q,module=%%q}" $labels.job $labels.instance $labels.target_name $labels.module | query }}, at stage {{ .Labels.stage }} with reason {{ .Labels.reason }}{{ end }}.' % [who, withModule, during('SMTPProbeFailing')],
          ),
          // Unhealthy while the probe passes: for a failing probe, SMTPProbeFailing fires instead.
          // `max without (status)`: the state set's status label says nothing the alert name does not.
          alert(
            'SMTPUnhealthy',
            'critical',
            |||
              max without (status) (%s) == 1
              unless on (%s)
                %s == 0
            ||| % [m('probe_smtp_health', 'status="unhealthy"'), on, m('probe_success')],
            '%s is unhealthy although its probe passes' % who,
            'The probe of %s passes, but for %s the health rules have classified the service as unhealthy (probe_smtp_health{status="unhealthy"} = {{ $value }}): usually an expired certificate that the module does not verify, or one served by another MX host. Run smtp_exporter check to see the finding.' % [who, during('SMTPUnhealthy')],
          ),
          // Degraded whether the probe passes or fails: a failure makes the health unhealthy
          // unless the failure itself is a degraded one (then SMTPProbeFailing stays quiet).
          alert(
            'SMTPDegraded',
            'warning',
            |||
              max without (status) (%s) == 1
            ||| % [m('probe_smtp_health', 'status="degraded"')],
            '%s is degraded' % who,
            'The service of %s has been degraded for %s (probe_smtp_health{status="degraded"} = {{ $value }}): a slow greeting, a certificate close to expiry, a mail domain without MX records, a greeting that is not SMTP, or test mail delivered to Junk. Run smtp_exporter check to see the finding.' % [who, during('SMTPDegraded')],
          ),
          // The default threshold is the exporter's default degraded_banner_latency.
          // MX domains: per host address.
          alert(
            'SMTPBannerLatencyHigh',
            'warning',
            |||
              %(banner)s > %(t)s
              or
              %(mxBanner)s > %(t)s
            ||| % {
              banner: m('probe_smtp_banner_latency_seconds'),
              mxBanner: m('probe_smtp_mx_host_banner_latency_seconds'),
              t: c.bannerLatencyThresholdSeconds,
            },
            'Slow SMTP greeting from %s%s' % [who, mxHost],
            'The greeting of %s{{ with $labels.mx }} (MX host {{ . }}, address {{ $labels.ip }}){{ end }} has taken more than %ss for %s; last value {{ $value | humanizeDuration }}.' % [who, c.bannerLatencyThresholdSeconds, during('SMTPBannerLatencyHigh')],
          ),
        ],
      },
      {
        name: 'smtp-exporter.tls',
        rules: [
          certExpiring('warning', c.certExpiryWarningDays),
          certExpiring('critical', c.certExpiryCriticalDays),
          alert(
            'SMTPCertificateExpired',
            'critical',
            certExpiry('<= 0'),
            'TLS certificate of %s%s has expired' % [who, mxHost],
            'A certificate presented by %s%s expired {{ $value | humanizeDuration | reReplaceAll "^-" "" }} ago (as seen by the last probe that completed a TLS handshake). Clients that verify certificates cannot deliver or submit mail.' % [who, mxHost],
          ),
          // Only while the probe passes (opportunistic TLS or insecure_skip_verify). With a module
          // that verifies, the probe fails with certificate_error and SMTPProbeFailing fires instead.
          alert(
            'SMTPCertificateNotVerified',
            'warning',
            |||
              %s == 0
              unless on (%s)
                %s == 0
            ||| % [m('probe_smtp_tls_verified'), on, m('probe_success')],
            'TLS certificate of %s does not verify' % who,
            'The certificate of %s has not verified for %s (probe_smtp_tls_verified = {{ $value }}; reasons:{{ range printf "probe_smtp_tls_verify_info{job=%%q,instance=%%q,target_name=%%q,module=%%q}" $labels.job $labels.instance $labels.target_name $labels.module | query | sortByLabel "reason" }} {{ .Labels.reason }}{{ end }}). The probe passes only because its module does not require a valid certificate.' % [who, during('SMTPCertificateNotVerified')],
          ),
          // Only while the probe passes: with tls = "starttls" the probe fails at
          // starttls/not_offered and SMTPProbeFailing fires instead.
          alert(
            'SMTPStartTLSMissing',
            'warning',
            |||
              %s == 0
              unless on (%s)
                %s == 0
            ||| % [m('probe_smtp_starttls_offered'), on, m('probe_success')],
            '%s does not offer STARTTLS' % who,
            'The EHLO reply of %s has not advertised STARTTLS for %s (probe_smtp_starttls_offered = {{ $value }}): mail to and from this server travels unencrypted.' % [who, during('SMTPStartTLSMissing')],
          ),
        ],
      },
      {
        name: 'smtp-exporter.mx',
        rules: [
          alert(
            'SMTPMXRecordsMissing',
            'warning',
            '%s == 1' % m('probe_smtp_mx_implicit'),
            'Mail domain %s has no MX records' % who,
            'The mail domain %s has published no MX record for %s (probe_smtp_mx_implicit = {{ $value }}); senders fall back to the address of the domain itself (implicit MX).' % [who, during('SMTPMXRecordsMissing')],
          ),
          alert(
            'SMTPNoMXReachable',
            'critical',
            |||
              %s == 0
              and on (%s)
                %s == 1
            ||| % [m('probe_smtp_mx_reachable'), on, m('probe_smtp_failure_info', 'reason="no_reachable_mx"')],
            'No MX host of %s accepts connections' % who,
            'For %s, no address of any MX host of %s has accepted a TCP connection (reachable MX hosts: {{ $value }}). Inbound mail for the domain is queued by the senders.' % [during('SMTPNoMXReachable'), who],
          ),
          // One MX host address fails while the domain as a whole passes (a broken backup MX, or
          // a primary that is down while a backup works).
          alert(
            'SMTPMXHostFailing',
            'warning',
            |||
              %s == 0
              unless on (%s)
                %s == 0
            ||| % [m('probe_smtp_mx_host_success'), on, m('probe_success')],
            'MX host {{ $labels.mx }} ({{ $labels.ip }}) of %s is failing' % who,
            'The mail domain %s passes, but its MX host {{ $labels.mx }} at {{ $labels.ip }} has failed for %s (probe_smtp_mx_host_success = {{ $value }}){{ range printf "probe_smtp_mx_host_failure_info{job=%%q,instance=%%q,target_name=%%q,module=%%q,mx=%%q,ip=%%q}" $labels.job $labels.instance $labels.target_name $labels.module $labels.mx $labels.ip | query }}, at stage {{ .Labels.stage }} with reason {{ .Labels.reason }}{{ end }}.' % [who, during('SMTPMXHostFailing')],
          ),
        ],
      },
      {
        name: 'smtp-exporter.transaction',
        rules: [
          // Modules with [modules.NAME.auth]. 4xx replies to AUTH are SMTPTemporaryFailuresPersisting.
          alert(
            'SMTPAuthenticationFailing',
            'critical',
            '%s == 1\n' % m('probe_smtp_failure_info', 'stage="auth", reason=~"auth_error|not_offered|plaintext_auth_refused"'),
            'SMTP authentication at %s is failing ({{ $labels.reason }})' % who,
            'The authenticated probe of %s%s has failed at AUTH for %s with reason {{ $labels.reason }} (probe_smtp_failure_info = {{ $value }}).' % [who, withModule, during('SMTPAuthenticationFailing')],
          ),
          // More than temporaryFailureRatio of the probes of the last temporaryFailureWindow ended
          // with a 4xx reply (after the module's retries), for the `for:` duration.
          alert(
            'SMTPTemporaryFailuresPersisting',
            'warning',
            |||
              sum without (stage, reason) (
                count_over_time(%(failure)s[%(window)s])
              )
              / count_over_time(%(success)s[%(window)s])
              > %(ratio)s
            ||| % {
              failure: m('probe_smtp_failure_info', 'reason="temporary_failure"'),
              success: m('probe_success'),
              window: c.temporaryFailureWindow,
              ratio: c.temporaryFailureRatio,
            },
            '%s keeps answering with temporary failures (4xx)' % who,
            'For %s, more than %s of the probes of %s%s in the last %s got a 4xx reply after their retries (greylisting, rate limit, full queue or disk); now {{ $value | humanizePercentage }}.' % [during('SMTPTemporaryFailuresPersisting'), util.ratioWords(c.temporaryFailureRatio), who, withModule, util.humanDuration(c.temporaryFailureWindow)],
          ),
        ],
      },
      {
        name: 'smtp-exporter.dnsbl',
        rules: [
          // A probed address (the target's, an MX host's) or a configured outbound address
          // ([dnsbl] addresses, on the exporter's /metrics) is on a blocklist. Error answers and
          // broken zones are never listings (they have no *_listed series).
          alert(
            'SMTPAddressBlocklisted',
            'warning',
            |||
              %s == 1
              or
              %s == 1
            ||| % [m('probe_smtp_dnsbl_listed'), m('smtp_exporter_dnsbl_listed')],
            '{{ $labels.ip }} is listed on the blocklist {{ $labels.zone }}',
            'The address {{ $labels.ip }}{{ with $labels.mx }} (MX host {{ . }}){{ end }} of %s has been listed on the DNS blocklist {{ $labels.zone }} for %s (listed = {{ $value }}): receivers that use the list refuse its mail. Run smtp_exporter check to see the list\'s reason.' % [who, during('SMTPAddressBlocklisted')],
          ),
          // A zone fails its RFC 5782 self-test (127.0.0.2 listed, 127.0.0.1 not) or cannot be
          // tested (refused through a public resolver, timeouts); its answers are ignored meanwhile.
          alert(
            'SMTPDNSBLZoneBroken',
            'warning',
            '%s == 0\n' % m('smtp_exporter_dnsbl_zone_ok'),
            'Blocklist zone {{ $labels.zone }} is broken or unreachable from {{ $labels.instance }}',
            'The DNS blocklist {{ $labels.zone }} has failed its RFC 5782 self-test, or could not be tested, for %s from the exporter at {{ $labels.instance }} (smtp_exporter_dnsbl_zone_ok = {{ $value }}). Its answers are ignored, so listings on it go unnoticed.' % during('SMTPDNSBLZoneBroken'),
          ),
        ],
      },
      {
        name: 'smtp-exporter.dane',
        rules: [
          // DANE (RFC 7672): usable TLSA records from a secure chain of answers, and none matches
          // the chain the server presented (the series exist only once a handshake ran, so a
          // server that is down fires SMTPProbeFailing, not this).
          alert(
            'SMTPDANEMismatch',
            'critical',
            '%s > 0\nand\n%s == 0\n' % [m('probe_smtp_dane_usable_records'), m('probe_smtp_dane_matching_records')],
            'No TLSA record of %s%s matches its certificate' % [who, mxHost],
            'For %s, none of the {{ $value }} usable TLSA records of %s%s has matched the certificate the server presents: DANE-enforcing senders defer mail to it, then bounce it. Publish the digest of the current key (smtp_exporter check shows the openssl command).' % [during('SMTPDANEMismatch'), who, mxHost],
          ),
          // An answer DANE relies on (an MX host's MX set, the host's addresses, its TLSA) fails
          // DNSSEC validation: validating senders cannot reach the host at all.
          alert(
            'SMTPDNSSECBogus',
            'critical',
            '%s == 1\n' % m('probe_smtp_dane_dnssec_status', 'status="bogus"'),
            'DNSSEC validation fails for %s%s' % [who, mxHost],
            'The DNSSEC validation of the MX, address or TLSA records of %s%s (the mail domain\'s MX set, the host\'s A/AAAA, its TLSA) has failed for %s (bogus = {{ $value }}; expired signatures, a DS that matches no key): validating senders treat the host as unreachable and defer mail.' % [who, mxHost, during('SMTPDNSSECBogus')],
          ),
          // DANE works today, but only for the current key (docs/dane.md, "rollover_ready").
          alert(
            'SMTPDANERolloverNotReady',
            'warning',
            '%s > 0\nand\n%s == 0\n' % [m('probe_smtp_dane_matching_records'), m('probe_smtp_dane_rollover_ready')],
            'A key change of %s%s will break DANE' % [who, mxHost],
            'The {{ $value }} matching TLSA record(s) of %s%s match only the current key, and have for %s: when the key or certificate changes, DANE-enforcing senders defer mail until new records are published. Publish the next key\'s record (or a DANE-TA record) first.' % [who, mxHost, during('SMTPDANERolloverNotReady')],
          ),
        ],
      },
      {
        name: 'smtp-exporter.delivery',
        rules: [
          // [receive]: the test message did not arrive (or the mailbox could not be read) for a
          // while. The series exists only when the message was accepted (250 to DATA), so a
          // failing SMTP side is SMTPProbeFailing's, not this one's.
          alert(
            'SMTPDeliveryFailing',
            'critical',
            '%s == 0\n' % m('probe_smtp_delivery_success'),
            'Test mail to {{ $labels.instance }} is not arriving',
            'The test message accepted by %s%s has not been found in the mailbox within the receive timeout for %s (probe_smtp_delivery_success = {{ $value }}). probe_smtp_failure_info names the reason: not_delivered, imap_connect or imap_auth.' % [who, withModule, during('SMTPDeliveryFailing')],
          ),
          // Found, but in the Junk folder (SPECIAL-USE \Junk or junk_folder): the probe fails with
          // delivered_to_junk, health degraded, so SMTPProbeFailing does not fire; this one does.
          alert(
            'SMTPDeliveredToJunk',
            'warning',
            '%s == 1\n' % m('probe_smtp_delivery_folder', 'folder="junk"'),
            'Test mail to {{ $labels.instance }} lands in Junk',
            'The test message accepted by %s%s has been delivered to the Junk folder for %s (value {{ $value }}): the receiver scores it as spam. Look at its Authentication-Results (probe_smtp_delivery_auth_result).' % [who, withModule, during('SMTPDeliveredToJunk')],
          ),
          // Messages that arrived after their check gave up (agent mode: the exporter's /metrics,
          // per target, with its target_name and labels).
          alert(
            'SMTPDeliveryLate',
            'warning',
            'increase(%s[1h]) > 0\n' % m('smtp_exporter_delivery_late_total'),
            'Test mail of %s arrives late' % who,
            '{{ $value | humanize }} test messages of %s arrived after their receive timeout in the last hour: delivery is slower than configured.' % who,
          ),
        ],
      },
      {
        name: 'smtp-exporter.mta-sts',
        rules: [
          // An MX host that the MTA-STS policy does not cover, or that fails STARTTLS with a
          // certificate valid for its name: senders in enforce mode refuse to deliver to it (in
          // testing mode they report it). The series exist only with a valid policy / a TLS try.
          alert(
            'SMTPMTASTSMXRejected',
            'warning',
            |||
              %s == 0
              or
              %s == 0
            ||| % [m('probe_smtp_mta_sts_mx_covered'), m('probe_smtp_mta_sts_mx_valid')],
            'MX host {{ $labels.mx }} fails the MTA-STS policy of {{ $labels.instance }}',
            'The MX host {{ $labels.mx }} of %s has not been covered by the MTA-STS policy, or has failed STARTTLS with a certificate valid for its name, for %s (value {{ $value }}): senders that enforce MTA-STS do not deliver to it. Run smtp_exporter check to see the policy line that would cover it.' % [who, during('SMTPMTASTSMXRejected')],
          ),
          // The policy body changed while the _mta-sts id did not: senders keep the old policy.
          alert(
            'SMTPMTASTSStaleId',
            'warning',
            '%s == 1\n' % m('probe_smtp_mta_sts_stale_id'),
            'MTA-STS policy of {{ $labels.instance }} changed without a new id',
            'The MTA-STS policy of %s changed while the id of its _mta-sts TXT record did not, %s ago or more (stale = {{ $value }}): senders keep the old policy for up to its max_age.' % [who, during('SMTPMTASTSStaleId')],
          ),
          alert(
            'SMTPMTASTSPolicyCertificateExpiring',
            'warning',
            '%s - time() < 14 * 86400\n' % m('probe_smtp_mta_sts_policy_cert_expiry_timestamp_seconds'),
            'The MTA-STS policy host certificate of {{ $labels.instance }} expires soon',
            'The certificate of the MTA-STS policy host of %s expires in {{ $value | humanizeDuration }}: once expired, senders can no longer refresh the policy.' % who,
          ),
          alert(
            'SMTPTLSRPTRecordInvalid',
            'warning',
            '%s == 0\n' % m('probe_smtp_tlsrpt_record_valid'),
            'TLS-RPT record of {{ $labels.instance }} missing or invalid',
            'The _smtp._tls TXT record of %s has been missing or invalid for %s (valid = {{ $value }}): senders cannot report failed TLS deliveries (RFC 8460).' % [who, during('SMTPTLSRPTRecordInvalid')],
          ),
        ],
      },
      {
        name: 'smtp-exporter.exporter',
        rules: [
          // Without a successful scrape there is no probe_success, so no other alert can fire.
          //  1. up == 0 for the exporter's own job or a /probe job: jobs matching scrapeJobRegex
          //     (as in docs/examples/prometheus.yml), and any job that returned smtp_exporter
          //     series in the last day;
          //  2. /probe requests answered 4xx/5xx (an unknown module or a bad target in the scrape config).
          alert(
            'SMTPExporterScrapeErrors',
            'critical',
            |||
              (
                up == 0
                and on (job, instance)
                  (
                    last_over_time(smtp_exporter_build_info[1d])
                    or last_over_time(%(tls)s[1d])
                  )
              )
              or up{job=~"%(jobs)s"} == 0
              or rate(smtp_exporter_http_requests_total{handler="/probe", code=~"4..|5.."}[5m]) * 60 > 0
            ||| % { tls: m('probe_smtp_tls_established'), jobs: c.scrapeJobRegex },
            'Prometheus cannot get SMTP probe results from {{ $labels.job }}/{{ $labels.instance }}',
            '{{ if $labels.code }}The exporter at {{ $labels.instance }} has answered /probe requests with HTTP {{ $labels.code }} for %(d)s ({{ $value | humanize }} per minute): a scrape config asks for an unknown module or an invalid target, and those targets are not probed.{{ else }}The scrapes of job {{ $labels.job }}, instance {{ $labels.instance }} have failed for %(d)s (up = {{ $value }}): the exporter is down or unreachable, or it rejects the request, so the SMTP alerts of these targets cannot fire.{{ end }}' % { d: during('SMTPExporterScrapeErrors') },
          ),
          alert(
            'SMTPExporterConfigReloadFailed',
            'warning',
            'max_over_time(smtp_exporter_config_last_reload_successful[5m]) == 0',
            'smtp_exporter {{ $labels.instance }} failed to reload its configuration',
            'The last configuration reload of the exporter at {{ $labels.instance }} (job {{ $labels.job }}) failed (smtp_exporter_config_last_reload_successful = {{ $value }}). It keeps running with the previous configuration; the next restart will fail with the file as it is.',
          ),
        ],
      },
    ],
  },
}
