// Generated into dashboards/smtp-exporter-target.json by scripts/mixin.sh. Grafana JSON model, schemaVersion 38.
local util = import '../lib/util.libsonnet';
local lib = import 'lib.libsonnet';

{
  grafanaDashboards+:: {
    'smtp-exporter-target.json':
      local c = $._config;
      // The probe selector of every panel; %(s)s in the queries below.
      local pfx = util.matcherPrefix([c.probeSelector]);
      local s = pfx + 'job=~"$job", instance="$instance", target_name=~"$target_name", module=~"$module"';
      local e = '';
      local f(expr) = expr % { s: s, e: e };
      lib.dashboard(c, 'smtp-exporter-target.json', 'Target', 'Everything smtp_exporter reports about one target: status, health, phases, SMTP session, TLS and certificate, AUTH and test message, MX set.', ['stat', 'state-timeline', 'table', 'timeseries'], [
        {
          title: 'Overview',
          type: 'link',
          icon: 'dashboard',
          asDropdown: false,
          includeVars: false,
          keepTime: true,
          tags: [],
          targetBlank: false,
          tooltip: 'All SMTP targets',
          url: '/d/%s/%s?${datasource:queryparam}' % [c.dashboardUIDs['smtp-exporter-overview.json'], c.dashboardUIDs['smtp-exporter-overview.json']],
        },
        {
          title: 'Runbooks',
          type: 'link',
          icon: 'doc',
          asDropdown: false,
          includeVars: false,
          keepTime: false,
          tags: [],
          targetBlank: true,
          tooltip: 'What each SMTP alert means and what to do',
          url: c.runbookURLPattern % 'README',
        },
      ], [
        lib.datasourceVariable,
        lib.queryVariable('job', 'Job', 'label_values(probe_success%s, job)' % util.selector([c.probeSelector])),
        lib.queryVariable('instance', 'Target or agent', 'label_values(probe_success{%sjob=~"$job"}, instance)' % pfx, multi=false, includeAll=false),
        lib.queryVariable('target_name', 'Agent target', 'label_values(probe_success{%sjob=~"$job", instance="$instance"}, target_name)' % pfx),
        lib.queryVariable('module', 'Module', 'label_values(probe_success{%sjob=~"$job", instance="$instance"}, module)' % pfx),
      ], [
        lib.row('Status', [
          lib.stat('Status', 4, 5, 'probe_success of the last probe, per job/module probing this target.', lib.split('probe_success{%(s)s}', s, '{{job}} ({{module}})', '{{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'DOWN',
                  color: 'red',
                  index: 0,
                },
                '1': {
                  text: 'UP',
                  color: 'green',
                  index: 1,
                },
              },
            },
          ], thresholds+: { steps: [
            {
              color: 'red',
              value: null,
            },
            {
              color: 'green',
              value: 1,
            },
          ] } } }, options+: { colorMode: 'background' } },
          lib.stat('Health', 4, 5, 'probe_smtp_health: healthy, degraded or unhealthy.', lib.split('probe_smtp_health{%(s)s, status="degraded"} + ignoring (status) 2 * probe_smtp_health{%(s)s, status="unhealthy"}', s, '{{job}} ({{module}})', '{{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'Healthy',
                  color: 'green',
                  index: 0,
                },
                '1': {
                  text: 'Degraded',
                  color: 'yellow',
                  index: 1,
                },
                '2': {
                  text: 'Unhealthy',
                  color: 'red',
                  index: 2,
                },
              },
            },
          ], thresholds+: { steps: [
            {
              color: 'green',
              value: null,
            },
            {
              color: 'yellow',
              value: 1,
            },
            {
              color: 'red',
              value: 2,
            },
          ] } } }, options+: { colorMode: 'background' } },
          lib.stat('Availability', 4, 5, "Share of successful probes over the dashboard's time range.", lib.split('avg_over_time(probe_success{%(s)s}[$__range])', s, '{{job}} ({{module}})', '{{target_name}}')) + { fieldConfig+: { defaults+: { unit: 'percentunit', decimals: 2, thresholds+: { steps: [
            {
              color: 'red',
              value: null,
            },
            {
              color: 'orange',
              value: 0.95,
            },
            {
              color: 'green',
              value: 0.99,
            },
          ] } } } },
          lib.stat('Greeting code', 4, 5, 'probe_smtp_banner_code: code of the server greeting (220 expected).', lib.split('probe_smtp_banner_code{%(s)s}', s, '{{job}} ({{module}})', '{{target_name}}')) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'green',
              value: null,
            },
            {
              color: 'orange',
              value: 400,
            },
            {
              color: 'red',
              value: 500,
            },
          ] } } } },
          lib.stat('Last reply code', 4, 5, 'probe_smtp_status_code: code of the last reply before QUIT.', lib.split('probe_smtp_status_code{%(s)s}', s, '{{job}} ({{module}})', '{{target_name}}')) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'green',
              value: null,
            },
            {
              color: 'orange',
              value: 400,
            },
            {
              color: 'red',
              value: 500,
            },
          ] } } } },
          lib.stat('IP protocol', 4, 5, 'probe_ip_protocol: 4 or 6, 0 when no address was chosen (mail domains).', lib.split('probe_ip_protocol{%(s)s}', s, '{{job}} ({{module}})', '{{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'none',
                  index: 0,
                },
                '4': {
                  text: 'IPv4',
                  index: 1,
                },
                '6': {
                  text: 'IPv6',
                  index: 2,
                },
              },
            },
          ], thresholds+: { steps: [
            {
              color: 'blue',
              value: null,
            },
          ] } } } },
          lib.stateTimeline('Status and health over time', 12, 7, 'probe_success and probe_smtp_health.', lib.split('probe_success{%(s)s}', s, 'up {{job}} ({{module}})', 'up {{target_name}}') + lib.split('probe_smtp_health{%(s)s, status="degraded"} + ignoring (status) 2 * probe_smtp_health{%(s)s, status="unhealthy"}', s, 'health {{job}} ({{module}})', 'health {{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'DOWN',
                  color: 'red',
                  index: 0,
                },
                '1': {
                  text: 'UP',
                  color: 'green',
                  index: 1,
                },
              },
            },
          ], thresholds+: { steps: [
            {
              color: 'red',
              value: null,
            },
            {
              color: 'green',
              value: 1,
            },
          ] }, color: {
            mode: 'thresholds',
          } }, overrides: [
            {
              matcher: {
                id: 'byFrameRefID',
                options: 'B',
              },
              properties: [
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: {
                        '0': {
                          text: 'Healthy',
                          color: 'green',
                          index: 0,
                        },
                        '1': {
                          text: 'Degraded',
                          color: 'yellow',
                          index: 1,
                        },
                        '2': {
                          text: 'Unhealthy',
                          color: 'red',
                          index: 2,
                        },
                      },
                    },
                  ],
                },
                {
                  id: 'thresholds',
                  value: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'green',
                        value: null,
                      },
                      {
                        color: 'yellow',
                        value: 1,
                      },
                      {
                        color: 'red',
                        value: 2,
                      },
                    ],
                  },
                },
              ],
            },
          ] }, options+: { showValue: 'never', mergeValues: true, alignValue: 'left', rowHeight: 0.9, legend: {
            showLegend: false,
            displayMode: 'list',
            placement: 'bottom',
          }, tooltip: {
            mode: 'single',
            sort: 'none',
          } } },
          lib.table('Current failure', 12, 7, 'probe_smtp_failure_info: stage and reason of the last failed probe (empty while the target works).', [lib.t(f('probe_smtp_failure_info{%(s)s}'))]) + { transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  Value: true,
                  instance: true,
                },
                renameByName: {},
                indexByName: {
                  target_name: 0,
                  job: 1,
                  module: 2,
                  stage: 3,
                  reason: 4,
                },
              },
            },
          ] },
          lib.timeseries('Failures over time', 24, 6, 'probe_smtp_failure_info by stage and reason.', lib.split('probe_smtp_failure_info{%(s)s}', s, '{{stage}}/{{reason}} ({{module}})', '{{stage}}/{{reason}} ({{target_name}})')) + { fieldConfig+: { defaults+: { min: 0, max: 1, custom: {
            drawStyle: 'bars',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
          } } } },
        ]),
        lib.row('Timing', [
          lib.timeseries('Time per phase', 12, 8, 'probe_smtp_duration_seconds, stacked by phase.', lib.split('probe_smtp_duration_seconds{%(s)s}', s, '{{phase}} ({{module}})', '{{phase}} ({{target_name}})')) + { fieldConfig+: { defaults+: { unit: 's', custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 30,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'normal',
              group: 'A',
            },
          } } }, options+: { legend+: { displayMode: 'table', calcs: [
            'lastNotNull',
            'max',
          ] } } },
          lib.timeseries('Probe duration and deadline', 12, 8, 'probe_duration_seconds against probe_timeout_seconds.', lib.split('probe_duration_seconds{%(s)s}', s, 'duration ({{module}})', 'duration ({{target_name}})') + lib.split('probe_timeout_seconds{%(s)s}', s, 'deadline ({{module}})', 'deadline ({{target_name}})')) + { fieldConfig+: { defaults+: { unit: 's', custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
          } } } },
          lib.timeseries('Banner latency', 12, 7, 'probe_smtp_banner_latency_seconds.', lib.split('probe_smtp_banner_latency_seconds{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { unit: 's', custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
          } } } },
          lib.timeseries('DNS lookup time', 12, 7, 'probe_dns_lookup_time_seconds (MX and address lookups).', lib.split('probe_dns_lookup_time_seconds{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { unit: 's', custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
          } } } },
        ]),
        lib.row('SMTP session', [
          lib.table('EHLO extensions', 8, 8, 'probe_smtp_ehlo_extension_info: extensions advertised in the last successful EHLO (over TLS after STARTTLS).', [lib.t(f('probe_smtp_ehlo_extension_info{%(s)s}'))]) + { options+: { sortBy: [
            {
              displayName: 'extension',
              desc: false,
            },
          ] }, transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  Value: true,
                  instance: true,
                },
                renameByName: {},
                indexByName: {
                  target_name: 0,
                  extension: 1,
                  job: 2,
                  module: 3,
                },
              },
            },
          ] },
          lib.table('AUTH mechanisms advertised', 8, 8, 'probe_smtp_auth_mechanism_info: SASL mechanisms listed by AUTH.', [lib.t(f('probe_smtp_auth_mechanism_info{%(s)s}'))]) + { transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  Value: true,
                  instance: true,
                },
                renameByName: {},
                indexByName: {
                  target_name: 0,
                  mechanism: 1,
                  job: 2,
                  module: 3,
                },
              },
            },
          ] },
          lib.stat('SIZE limit', 4, 4, 'probe_smtp_size_limit_bytes (0: no fixed limit).', lib.split('probe_smtp_size_limit_bytes{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { unit: 'bytes', thresholds+: { steps: [
            {
              color: 'blue',
              value: null,
            },
          ] } } } },
          lib.stat('HELO fallback', 4, 4, 'probe_smtp_helo_fallback: 1 when EHLO was rejected and HELO used.', lib.split('probe_smtp_helo_fallback{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'no',
                  color: 'green',
                  index: 0,
                },
                '1': {
                  text: 'yes',
                  color: 'red',
                  index: 1,
                },
              },
            },
          ] } } },
          lib.stat('STARTTLS offered', 4, 4, 'probe_smtp_starttls_offered (EHLO before TLS).', lib.split('probe_smtp_starttls_offered{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'no',
                  color: 'red',
                  index: 0,
                },
                '1': {
                  text: 'yes',
                  color: 'green',
                  index: 1,
                },
              },
            },
          ] } } },
          lib.stat('AUTH before TLS', 4, 4, 'probe_smtp_auth_before_tls: AUTH advertised on the unencrypted connection.', lib.split('probe_smtp_auth_before_tls{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'no',
                  color: 'green',
                  index: 0,
                },
                '1': {
                  text: 'yes',
                  color: 'red',
                  index: 1,
                },
              },
            },
          ] } } },
        ]),
        lib.row('TLS and certificate', [
          lib.stat('TLS established', 4, 5, 'probe_smtp_tls_established.', lib.split('probe_smtp_tls_established{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'no',
                  color: 'red',
                  index: 0,
                },
                '1': {
                  text: 'yes',
                  color: 'green',
                  index: 1,
                },
              },
            },
          ] } } },
          lib.stat('Certificate verified', 4, 5, 'probe_smtp_tls_verified: chain, dates and name.', lib.split('probe_smtp_tls_verified{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'no',
                  color: 'red',
                  index: 0,
                },
                '1': {
                  text: 'yes',
                  color: 'green',
                  index: 1,
                },
              },
            },
          ] } }, options+: { colorMode: 'background' } },
          lib.stat('Certificate days left', 4, 5, 'probe_smtp_tls_days_to_expiry (leaf).', lib.split('probe_smtp_tls_days_to_expiry{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { unit: 'd', decimals: 1, thresholds+: { steps: [
            {
              color: 'red',
              value: null,
            },
            {
              color: 'orange',
              value: 7,
            },
            {
              color: 'yellow',
              value: 14,
            },
            {
              color: 'green',
              value: 30,
            },
          ] } } }, options+: { colorMode: 'background' } },
          lib.stat('Chain expires', 8, 5, 'probe_ssl_earliest_cert_expiry (presented chain) and probe_ssl_last_chain_expiry_timestamp_seconds (verified chain up to the root).', lib.split('probe_ssl_earliest_cert_expiry{%(s)s} * 1000', s, 'presented ({{module}})', 'presented ({{target_name}})') + lib.split('probe_ssl_last_chain_expiry_timestamp_seconds{%(s)s} * 1000', s, 'verified ({{module}})', 'verified ({{target_name}})')) + { fieldConfig+: { defaults+: { unit: 'dateTimeAsIso', thresholds+: { steps: [
            {
              color: 'blue',
              value: null,
            },
          ] } } } },
          lib.table('TLS version and cipher', 12, 6, 'probe_tls_version_info and probe_tls_cipher_info.', [lib.t(f('probe_tls_version_info{%(s)s}')), lib.t(f('probe_tls_cipher_info{%(s)s}'))]) + { transformations: [
            {
              id: 'merge',
              options: {},
            },
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  'Value #A': true,
                  'Value #B': true,
                  instance: true,
                },
                renameByName: {},
                indexByName: {
                  target_name: 0,
                  job: 1,
                  module: 2,
                  version: 3,
                  cipher: 4,
                },
              },
            },
          ] },
          lib.table('Verification problems', 12, 6, 'probe_smtp_tls_verify_info: why the certificate did not verify (expired, unknown_ca, hostname_mismatch, ...).', [lib.t(f('probe_smtp_tls_verify_info{%(s)s}'))]) + { transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  Value: true,
                  instance: true,
                },
                renameByName: {},
                indexByName: {
                  target_name: 0,
                  job: 1,
                  module: 2,
                  reason: 3,
                },
              },
            },
          ] },
          lib.table('Leaf certificate', 24, 5, 'probe_ssl_last_chain_info: subject, issuer, serial number and SHA-256 fingerprint of the leaf. A new certificate makes a new row.', [lib.t(f('probe_ssl_last_chain_info{%(s)s}'))]) + { transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  Value: true,
                  instance: true,
                },
                renameByName: {},
                indexByName: {
                  target_name: 0,
                  subject: 1,
                  issuer: 2,
                  serialnumber: 3,
                  fingerprint_sha256: 4,
                  job: 5,
                  module: 6,
                },
              },
            },
          ] },
          lib.timeseries('Certificate days left over time', 24, 7, 'probe_smtp_tls_days_to_expiry; for mail domains, the earliest certificate of each MX host address.', lib.split('probe_smtp_tls_days_to_expiry{%(s)s}', s, 'leaf ({{module}})', 'leaf ({{target_name}})') + lib.split('(probe_smtp_mx_host_ssl_earliest_cert_expiry_timestamp_seconds{%(s)s} - time()) / 86400', s, '{{mx}} {{ip}}', '{{target_name}} {{mx}} {{ip}}')) + { fieldConfig+: { defaults+: { unit: 'd', thresholds+: { steps: [
            {
              color: 'red',
              value: null,
            },
            {
              color: 'orange',
              value: 7,
            },
            {
              color: 'yellow',
              value: 14,
            },
            {
              color: 'green',
              value: 30,
            },
          ] }, custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
          } } } },
        ]),
        lib.row('Authentication and test message', [
          lib.stat('AUTH', 4, 5, 'probe_smtp_auth_success: 1 when AUTH got 235.', lib.split('probe_smtp_auth_success{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'failed',
                  color: 'red',
                  index: 0,
                },
                '1': {
                  text: 'OK',
                  color: 'green',
                  index: 1,
                },
              },
            },
          ] } }, options+: { colorMode: 'background' } },
          lib.stat('Attempts', 4, 5, 'probe_smtp_attempts: conversations run (> 1 after 4xx retries).', lib.split('probe_smtp_attempts{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'green',
              value: null,
            },
            {
              color: 'orange',
              value: 2,
            },
          ] } } } },
          lib.table('SASL mechanism used', 4, 5, 'probe_smtp_auth_mechanism_used_info.', [lib.t(f('probe_smtp_auth_mechanism_used_info{%(s)s}'))]) + { transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  Value: true,
                  instance: true,
                },
                renameByName: {},
                indexByName: {
                  target_name: 0,
                  mechanism: 1,
                  job: 2,
                  module: 3,
                },
              },
            },
          ] },
          lib.table('RCPT replies', 6, 5, 'probe_smtp_rcpt_status_code per recipient.', [lib.t(f('probe_smtp_rcpt_status_code{%(s)s}'))]) + { transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  instance: true,
                },
                renameByName: {
                  Value: 'Code',
                },
                indexByName: {
                  target_name: 0,
                  recipient: 1,
                  Value: 2,
                  job: 3,
                  module: 4,
                },
              },
            },
          ] },
          lib.table('Last reply details', 6, 5, 'probe_smtp_enhanced_status_code_info (RFC 3463 code of the last reply that carried one) and probe_smtp_message_info (token of the last test message, to find it in the mailbox).', [lib.t(f('probe_smtp_enhanced_status_code_info{%(s)s}')), lib.t(f('probe_smtp_message_info{%(s)s}'))]) + { transformations: [
            {
              id: 'merge',
              options: {},
            },
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  'Value #A': true,
                  'Value #B': true,
                  instance: true,
                },
                renameByName: {},
                indexByName: {
                  target_name: 0,
                  job: 1,
                  module: 2,
                  code: 3,
                  token: 4,
                },
              },
            },
          ] },
        ]),
        lib.row('Mail domain (MX)', [
          lib.stat('MX records', 4, 5, 'probe_smtp_mx_records (0 with an implicit MX).', lib.split('probe_smtp_mx_records{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'blue',
              value: null,
            },
          ] } } } },
          lib.stat('Reachable MX hosts', 4, 5, 'probe_smtp_mx_reachable: MX hosts with an address that accepted TCP.', lib.split('probe_smtp_mx_reachable{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'red',
              value: null,
            },
            {
              color: 'green',
              value: 1,
            },
          ] } } }, options+: { colorMode: 'background' } },
          lib.stat('Null MX', 4, 5, 'probe_smtp_mx_null: the domain accepts no mail (RFC 7505).', lib.split('probe_smtp_mx_null{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'no',
                  color: 'green',
                  index: 0,
                },
                '1': {
                  text: 'yes',
                  color: 'red',
                  index: 1,
                },
              },
            },
          ] } } },
          lib.stat('Implicit MX', 4, 5, "probe_smtp_mx_implicit: no MX records, the domain's own addresses were probed.", lib.split('probe_smtp_mx_implicit{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'no',
                  index: 0,
                },
                '1': {
                  text: 'yes',
                  color: 'yellow',
                  index: 1,
                },
              },
            },
          ] } } },
          lib.table('MX set', 8, 5, 'probe_smtp_mx_info: the MX records, by preference.', [lib.t(f('probe_smtp_mx_info{%(s)s}'))]) + { options+: { sortBy: [
            {
              displayName: 'preference',
              desc: false,
            },
          ] }, transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  Value: true,
                  instance: true,
                },
                renameByName: {},
                indexByName: {
                  target_name: 0,
                  preference: 1,
                  exchange: 2,
                  job: 3,
                  module: 4,
                },
              },
            },
          ] },
          lib.table('MX hosts', 12, 7, 'Per MX host address: result (probe_smtp_mx_host_success), greeting latency and days to the earliest certificate expiry.', [lib.t(f('probe_smtp_mx_host_success{%(s)s}')), lib.t(f('probe_smtp_mx_host_banner_latency_seconds{%(s)s}')), lib.t(f('(probe_smtp_mx_host_ssl_earliest_cert_expiry_timestamp_seconds{%(s)s} - time()) / 86400'))]) + { fieldConfig+: { overrides: [
            {
              matcher: {
                id: 'byName',
                options: 'Result',
              },
              properties: [
                {
                  id: 'custom.cellOptions',
                  value: {
                    type: 'color-background',
                  },
                },
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: {
                        '0': {
                          text: 'DOWN',
                          color: 'red',
                          index: 0,
                        },
                        '1': {
                          text: 'UP',
                          color: 'green',
                          index: 1,
                        },
                      },
                    },
                  ],
                },
              ],
            },
            {
              matcher: {
                id: 'byName',
                options: 'Banner latency',
              },
              properties: [
                {
                  id: 'unit',
                  value: 's',
                },
              ],
            },
            {
              matcher: {
                id: 'byName',
                options: 'Certificate days',
              },
              properties: [
                {
                  id: 'custom.cellOptions',
                  value: {
                    type: 'color-text',
                  },
                },
                {
                  id: 'thresholds',
                  value: {
                    mode: 'absolute',
                    steps: [
                      {
                        color: 'red',
                        value: null,
                      },
                      {
                        color: 'orange',
                        value: 7,
                      },
                      {
                        color: 'yellow',
                        value: 14,
                      },
                      {
                        color: 'green',
                        value: 30,
                      },
                    ],
                  },
                },
                {
                  id: 'unit',
                  value: 'd',
                },
              ],
            },
          ] }, transformations: [
            {
              id: 'merge',
              options: {},
            },
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  instance: true,
                },
                renameByName: {
                  'Value #A': 'Result',
                  'Value #B': 'Banner latency',
                  'Value #C': 'Certificate days',
                },
                indexByName: {
                  target_name: 0,
                  mx: 1,
                  ip: 2,
                  'Value #A': 3,
                  'Value #B': 4,
                  'Value #C': 5,
                  job: 6,
                  module: 7,
                },
              },
            },
          ] },
          lib.table('MX host failures', 12, 7, 'probe_smtp_mx_host_failure_info: stage and reason per failing host address.', [lib.t(f('probe_smtp_mx_host_failure_info{%(s)s}'))]) + { transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  Value: true,
                  instance: true,
                },
                renameByName: {},
                indexByName: {
                  target_name: 0,
                  mx: 1,
                  ip: 2,
                  stage: 3,
                  reason: 4,
                  job: 5,
                  module: 6,
                },
              },
            },
          ] },
          lib.timeseries('MX host banner latency', 12, 7, 'probe_smtp_mx_host_banner_latency_seconds.', lib.split('probe_smtp_mx_host_banner_latency_seconds{%(s)s}', s, '{{mx}} {{ip}}', '{{target_name}} {{mx}} {{ip}}')) + { fieldConfig+: { defaults+: { unit: 's', custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
          } } } },
          lib.timeseries('MX host results over time', 12, 7, 'probe_smtp_mx_host_success per host address.', lib.split('probe_smtp_mx_host_success{%(s)s}', s, '{{mx}} {{ip}}', '{{target_name}} {{mx}} {{ip}}')) + { fieldConfig+: { defaults+: { min: 0, max: 1, custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
          } } } },
        ]),

        lib.row('Blocklists (DNSBL)', [
          lib.stat('Blocklist listings', 4, 5, 'probe_smtp_dnsbl_listings: blocklist zones listing the address (max over MX hosts).', lib.split('max without (mx, ip) (probe_smtp_dnsbl_listings{%(s)s})', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'green',
              value: null,
            },
            {
              color: 'red',
              value: 1,
            },
          ] } } }, options+: { colorMode: 'background' } },
          lib.stat('Zones without answer', 4, 5, 'probe_smtp_dnsbl_error: zones that gave no usable answer (error codes such as 127.255.255.254, timeouts, broken zones).', lib.split('sum without (zone, mx, ip) (probe_smtp_dnsbl_error{%(s)s})', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'green',
              value: null,
            },
            {
              color: 'orange',
              value: 1,
            },
          ] } } } },
          lib.table('Listings', 16, 5, 'probe_smtp_dnsbl_listed per zone and address: 1 listed, 0 not (zones with a usable answer). smtp_exporter check shows the code and the reason (TXT).', [lib.t(f('probe_smtp_dnsbl_listed{%(s)s}'))]) + { fieldConfig+: { overrides: [
            {
              matcher: {
                id: 'byName',
                options: 'Listed',
              },
              properties: [
                {
                  id: 'custom.cellOptions',
                  value: {
                    type: 'color-background',
                  },
                },
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: {
                        '0': {
                          text: 'no',
                          color: 'green',
                        },
                        '1': {
                          text: 'LISTED',
                          color: 'red',
                        },
                      },
                    },
                  ],
                },
              ],
            },
          ] }, transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  instance: true,
                },
                renameByName: {
                  Value: 'Listed',
                },
                indexByName: {
                  target_name: 0,
                  zone: 1,
                  ip: 2,
                  mx: 3,
                  Value: 4,
                  job: 5,
                  module: 6,
                },
              },
            },
          ] },
        ]),
        lib.row('Delivery (receive)', [
          lib.timeseries('Delivery round trip', 12, 7, 'probe_smtp_delivery_roundtrip_seconds: from the 250 to DATA until the test message was visible in the mailbox (IMAP or Maildir).', lib.split('probe_smtp_delivery_roundtrip_seconds{%(s)s}', s, 'round trip ({{module}})', 'round trip ({{target_name}})')) + { fieldConfig+: { defaults+: { unit: 's', min: 0 } } },
          lib.timeseries('Junk rate', 6, 7, 'Share of the checks over 1h whose test message landed in Junk (probe_smtp_delivery_folder{folder="junk"}).', lib.split('avg_over_time(probe_smtp_delivery_folder{%(s)s, folder="junk"}[1h])', s, 'junk ({{module}})', 'junk ({{target_name}})')) + { fieldConfig+: { defaults+: { unit: 'percentunit', min: 0, max: 1 } } },
          lib.timeseries('Late mail', 6, 7, 'Test messages that arrived after their receive timeout (increase of smtp_exporter_delivery_late_total{target_name} on the exporter\'s /metrics for agent targets; probe_smtp_delivery_late_messages per probe).', [lib.q('increase(smtp_exporter_delivery_late_total{%s, target_name!=""}[$__rate_interval])' % s, 'late, /metrics ({{target_name}})')] + lib.split('sum_over_time(probe_smtp_delivery_late_messages{%(s)s}[1h])', s, 'late ({{module}})', 'late ({{target_name}})')) + { fieldConfig+: { defaults+: { min: 0, decimals: 0 } } },
        ]),
        lib.row('MTA-STS and TLS-RPT', [
          lib.stat('MTA-STS mode', 4, 5, 'probe_smtp_mta_sts_policy_mode: the mode of the valid policy (none without one; a fetch or parse failure is a probe failure, stage mta_sts).', lib.split('max by (mode) (probe_smtp_mta_sts_policy_mode{%(s)s}) == 1', s, '{{mode}}', '{{mode}}')) + { options+: { textMode: 'name' } },
          lib.stat('MTA-STS policy id stale', 4, 5, 'probe_smtp_mta_sts_stale_id: 1 when the policy body changed while the _mta-sts id did not.', lib.split('probe_smtp_mta_sts_stale_id{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [{ type: 'value', options: { '0': { text: 'no', color: 'green' }, '1': { text: 'STALE', color: 'orange' } } }] } }, options+: { colorMode: 'background' } },
          lib.stat('TLS-RPT record', 4, 5, 'probe_smtp_tlsrpt_record_valid: exactly one valid _smtp._tls record.', lib.split('probe_smtp_tlsrpt_record_valid{%(s)s}', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [{ type: 'value', options: { '0': { text: 'INVALID', color: 'orange' }, '1': { text: 'valid', color: 'green' } } }] } }, options+: { colorMode: 'background' } },
          lib.stat('Policy certificate expiry', 4, 5, 'probe_smtp_mta_sts_policy_cert_expiry_timestamp_seconds: time left on the certificate of mta-sts.DOMAIN.', lib.split('probe_smtp_mta_sts_policy_cert_expiry_timestamp_seconds{%(s)s} - time()', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { unit: 's' } } },
          lib.table('MX hosts against the policy', 8, 5, 'probe_smtp_mta_sts_mx_covered (a policy pattern matches) and probe_smtp_mta_sts_mx_valid (STARTTLS with a certificate valid for the MX name) per MX host.', [lib.t(f('probe_smtp_mta_sts_mx_covered{%(s)s}')), lib.t(f('probe_smtp_mta_sts_mx_valid{%(s)s}'))]),
        ]),
        // docs/dane.md: how to read each metric. Per MX host for a mail domain (mx, ip labels).
        lib.row('DANE (TLSA)', [
          lib.stat('DNSSEC status', 4, 5, 'probe_smtp_dane_dnssec_status: the worst DNSSEC status of the answers DANE relies on (an MX host\'s MX set, the host\'s addresses, its TLSA records): secure, insecure (senders ignore the records), bogus, indeterminate (no answer).', lib.split('max by (status) (probe_smtp_dane_dnssec_status{%(s)s}) == 1', s, '{{status}}', '{{status}}')) + { fieldConfig+: { overrides: [{ matcher: { id: 'byName', options: sc[0] }, properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: sc[1] } }] } for sc in [['secure', 'green'], ['insecure', 'orange'], ['indeterminate', 'orange'], ['bogus', 'red']]] }, options+: { textMode: 'name', colorMode: 'background' } },
          lib.stat('DANE verified', 4, 5, 'probe_smtp_dane_verified: 1 when the TLS handshake was authenticated by a usable TLSA record (worst over MX hosts). Present after a handshake with records.', lib.split('min without (mx, ip) (probe_smtp_dane_verified{%(s)s})', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [{ type: 'value', options: { '0': { text: 'NOT VERIFIED', color: 'red' }, '1': { text: 'verified', color: 'green' } } }] } }, options+: { colorMode: 'background' } },
          lib.stat('Rollover ready', 4, 5, 'probe_smtp_dane_rollover_ready: 1 when a key change can happen without breaking DANE (the next key, or a DANE-TA record, published beside the current one; docs/dane.md has the rule). Worst over MX hosts.', lib.split('min without (mx, ip) (probe_smtp_dane_rollover_ready{%(s)s})', s, '{{module}}', '{{target_name}}')) + { fieldConfig+: { defaults+: { mappings: [{ type: 'value', options: { '0': { text: 'NOT READY', color: 'orange' }, '1': { text: 'ready', color: 'green' } } }] } }, options+: { colorMode: 'background' } },
          lib.stat('DNSSEC validator', 4, 5, 'smtp_exporter_dnssec_trust_anchor_ok on the exporters\' own /metrics (lowest of every exporter): 0 means a validator cannot validate its trust anchor, so an insecure or indeterminate status above may be the validator\'s fault, not the zone\'s.', [lib.q('min(smtp_exporter_dnssec_trust_anchor_ok)', 'trust anchor')]) + { fieldConfig+: { defaults+: { mappings: [{ type: 'value', options: { '0': { text: 'BROKEN', color: 'red' }, '1': { text: 'OK', color: 'green' } } }] } }, options+: { colorMode: 'background' } },
          lib.timeseries('TLSA records', 8, 5, 'probe_smtp_dane_tlsa_records (published at _PORT._tcp.HOST), probe_smtp_dane_usable_records (DANE-TA or DANE-EE from a secure chain) and probe_smtp_dane_matching_records (usable records matching the presented chain; 0 is a mismatch).', lib.split('probe_smtp_dane_tlsa_records{%(s)s}', s, 'published {{mx}} ({{module}})', 'published {{mx}} ({{target_name}})') + lib.split('probe_smtp_dane_usable_records{%(s)s}', s, 'usable {{mx}} ({{module}})', 'usable {{mx}} ({{target_name}})') + lib.split('probe_smtp_dane_matching_records{%(s)s}', s, 'matching {{mx}} ({{module}})', 'matching {{mx}} ({{target_name}})')) + { fieldConfig+: { defaults+: { min: 0, decimals: 0 } } },
          lib.table('TLSA records against the presented chain', 24, 6, 'probe_smtp_dane_tlsa_record_match per published record (usage, selector, matching type): 1 when it matches the chain the server presented, at depth (0 the leaf, 1 its issuer; none: no match). smtp_exporter check shows each record\'s digest.', [lib.t(f('probe_smtp_dane_tlsa_record_match{%(s)s}'))]) + { fieldConfig+: { overrides: [
            {
              matcher: {
                id: 'byName',
                options: 'Matches',
              },
              properties: [
                {
                  id: 'custom.cellOptions',
                  value: {
                    type: 'color-background',
                  },
                },
                {
                  id: 'mappings',
                  value: [
                    {
                      type: 'value',
                      options: {
                        '0': {
                          text: 'no',
                          color: 'orange',
                        },
                        '1': {
                          text: 'yes',
                          color: 'green',
                        },
                      },
                    },
                  ],
                },
              ],
            },
          ] }, transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                },
                renameByName: {
                  Value: 'Matches',
                  matching_type: 'matching type',
                },
              },
            },
          ] },
        ]),
      ], collapsed={
        'Delivery (receive)': c.noDeliveryText,
        'Authentication and test message': c.noAuthText,
        'Mail domain (MX)': c.noMXText,
        'Blocklists (DNSBL)': c.noDnsblText,
        'MTA-STS and TLS-RPT': c.noMtaStsText,
        'DANE (TLSA)': c.noDaneText,
      }, runbooks={
        Status: ['SMTPProbeFailing'],
        Health: ['SMTPUnhealthy', 'SMTPDegraded'],
        'Current failure': ['SMTPProbeFailing'],
        'Banner latency': ['SMTPBannerLatencyHigh'],
        'STARTTLS offered': ['SMTPStartTLSMissing'],
        'Certificate verified': ['SMTPCertificateNotVerified'],
        'Certificate days left': ['SMTPCertificateExpiring', 'SMTPCertificateExpired'],
        AUTH: ['SMTPAuthenticationFailing'],
        Attempts: ['SMTPTemporaryFailuresPersisting'],
        'MX records': ['SMTPMXRecordsMissing'],
        'Reachable MX hosts': ['SMTPNoMXReachable'],
        'MX host failures': ['SMTPMXHostFailing'],
        'Blocklist listings': ['SMTPAddressBlocklisted'],
        'Zones without answer': ['SMTPDNSBLZoneBroken'],
        'Delivery round trip': ['SMTPDeliveryFailing'],
        'Junk rate': ['SMTPDeliveredToJunk'],
        'Late mail': ['SMTPDeliveryLate'],
        'MTA-STS policy id stale': ['SMTPMTASTSStaleId'],
        'TLS-RPT record': ['SMTPTLSRPTRecordInvalid'],
        'Policy certificate expiry': ['SMTPMTASTSPolicyCertificateExpiring'],
        'MX hosts against the policy': ['SMTPMTASTSMXRejected'],
        'DNSSEC status': ['SMTPDNSSECBogus'],
        'DANE verified': ['SMTPDANEMismatch'],
        'Rollover ready': ['SMTPDANERolloverNotReady'],
        'TLSA records': ['SMTPDANEMismatch'],
        'TLSA records against the presented chain': ['SMTPDANEMismatch', 'SMTPDANERolloverNotReady'],
      }),
  },
}
