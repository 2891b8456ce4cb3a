// Generated into dashboards/smtp-exporter-overview.json by scripts/mixin.sh. Grafana JSON model, schemaVersion 38.
local util = import '../lib/util.libsonnet';
local lib = import 'lib.libsonnet';

{
  grafanaDashboards+:: {
    'smtp-exporter-overview.json':
      local c = $._config;
      // The probe selector of every panel; %(s)s in the queries below.
      local pfx = util.matcherPrefix([c.probeSelector]);
      local s = pfx + 'job=~"$job", instance=~"$instance", target_name=~"$target_name", module=~"$module"';
      // The jobs that scrape the exporter's own /metrics; %(e)s.
      local e = 'job=~"$exporter_job"';
      // The alerts of this mixin, for the Firing SMTP alerts stat; %(a)s.
      local a = std.join('|', std.set([r.alert for g in $.prometheusAlerts.groups for r in g.rules if std.objectHas(r, 'alert')]));
      local f(expr) = expr % { s: s, e: e, a: a };
      // Links to the drill-down. In tables, the instance column opens the /probe target (for an agent:
      // all its targets) and the target_name column (agent rows) one agent target; in the state
      // timelines, refId A holds /probe series and refId B agent series (lib.split).
      local targetUid = c.dashboardUIDs['smtp-exporter-target.json'];
      local drill = '/d/%s/%s?' % [targetUid, targetUid];
      local keep = '&${datasource:queryparam}&${__url_time_range}';
      local linkOverride(field, title, url) = { matcher: { id: field[0], options: field[1] }, properties: [{ id: 'links', value: [{ title: title, url: drill + url + keep }] }] };
      local instanceLink = linkOverride(['byName', 'instance'], 'Open the target dashboard for ${__data.fields.instance}', 'var-instance=${__data.fields.instance}');
      local targetNameLink = linkOverride(['byName', 'target_name'], 'Open the target dashboard for ${__data.fields.target_name}', 'var-instance=${__data.fields.instance}&var-target_name=${__value.raw}');
      local probeSeriesLink = { title: 'Open the target dashboard for ${__field.labels.instance}', url: drill + 'var-instance=${__field.labels.instance}' + keep };
      local agentSeriesLink = linkOverride(['byFrameRefID', 'B'], 'Open the target dashboard for ${__field.labels.target_name}', 'var-instance=${__field.labels.instance}&var-target_name=${__field.labels.target_name}');
      local timeline(title, w, h, description, targets) =
        lib.stateTimeline(title, w, h, description, targets) + { fieldConfig+: { overrides+: [agentSeriesLink] } };
      lib.dashboard(c, 'smtp-exporter-overview.json', 'Overview', "SMTP servers probed by smtp_exporter: status, latency, phases, certificates, mail domains, failures, AUTH/send results, and the exporter's own health. Click an instance for its drill-down.", ['heatmap', 'piechart', 'stat', 'state-timeline', 'table', 'timeseries'], [
        {
          title: 'SMTP dashboards',
          type: 'dashboards',
          tags: ['smtp_exporter'],
          asDropdown: true,
          includeVars: false,
          keepTime: true,
          icon: 'external link',
          targetBlank: false,
          tooltip: '',
          url: '',
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
        lib.queryVariable('module', 'Module', 'label_values(probe_success{%sjob=~"$job"}, module)' % pfx),
        lib.queryVariable('instance', 'Target or agent', 'label_values(probe_success{%sjob=~"$job", module=~"$module"}, instance)' % pfx),
        lib.queryVariable('target_name', 'Agent target', 'label_values(probe_success{%sjob=~"$job", instance=~"$instance"}, target_name)' % pfx),
        lib.queryVariable('exporter_job', 'Exporter job', 'label_values(smtp_exporter_build_info, job)'),
      ], [
        lib.row('Status', [
          lib.stat('Targets up', 4, 4, 'Targets whose last probe succeeded (probe_success == 1).', [lib.q(f('sum(probe_success{%(s)s})'), 'up')]) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'blue',
              value: null,
            },
          ] } } }, options+: { graphMode: 'area' } },
          lib.stat('Targets failing', 4, 4, 'Targets whose last probe failed (probe_success == 0). See the failure panels below for the stage and reason.', [lib.q(f('sum(1 - probe_success{%(s)s})'), 'failing')]) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'green',
              value: null,
            },
            {
              color: 'red',
              value: 1,
            },
          ] } } }, options+: { colorMode: 'background', graphMode: 'area' } },
          lib.stat('Targets degraded', 4, 4, 'Targets whose last probe was classified degraded by the exporter (slow greeting, certificate expiring soon, domain without MX, non-SMTP answer).', [lib.q(f('sum(probe_smtp_health{%(s)s, status="degraded"})'), 'degraded')]) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'green',
              value: null,
            },
            {
              color: 'yellow',
              value: 1,
            },
          ] } } }, options+: { colorMode: 'background' } },
          lib.stat('Availability', 4, 4, "Share of successful probes over the dashboard's time range, all selected targets together.", [lib.q(f('avg(avg_over_time(probe_success{%(s)s}[$__range]))'), 'availability')]) + { fieldConfig+: { defaults+: { unit: 'percentunit', decimals: 2, thresholds+: { steps: [
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
          lib.stat('Soonest certificate expiry', 4, 4, 'Days until the first leaf certificate among the selected targets expires (probe_smtp_tls_days_to_expiry).', [lib.q(f('min(probe_smtp_tls_days_to_expiry{%(s)s})'), 'days')]) + { fieldConfig+: { defaults+: { unit: 'd', decimals: 1, thresholds+: { steps: [
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
          ] } } } },
          lib.stat('Firing SMTP alerts', 4, 4, "Alerts of smtp_exporter's rules (alerts/smtp_exporter.rules.yml, by alert name: not the other alerts of this Prometheus) firing for the selected jobs, targets and agent targets.", [lib.q(f('count(ALERTS{alertstate="firing", alertname=~"%(a)s", job=~"$job", instance=~"$instance", target_name=~"$target_name"}) or vector(0)'), 'firing')]) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'green',
              value: null,
            },
            {
              color: 'red',
              value: 1,
            },
          ] } } }, options+: { colorMode: 'background' } },
          lib.table('Targets', 24, 9, 'One row per target: last result, health, durations, certificate and availability over the time range. Click an instance to open its drill-down dashboard.', [lib.t(f('probe_success{%(s)s}')), lib.t(f('probe_smtp_health{%(s)s, status="degraded"} + ignoring (status) 2 * probe_smtp_health{%(s)s, status="unhealthy"}')), lib.t(f('probe_duration_seconds{%(s)s}')), lib.t(f('probe_smtp_banner_latency_seconds{%(s)s}')), lib.t(f('probe_smtp_tls_days_to_expiry{%(s)s}')), lib.t(f('avg_over_time(probe_success{%(s)s}[$__range])'))]) + { fieldConfig+: { overrides: [
            instanceLink,
            targetNameLink,
            {
              matcher: {
                id: 'byName',
                options: 'Status',
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
                options: 'Health',
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
              ],
            },
            {
              matcher: {
                id: 'byName',
                options: 'Probe duration',
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
            {
              matcher: {
                id: 'byName',
                options: 'Availability',
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
                        value: 0.95,
                      },
                      {
                        color: 'green',
                        value: 0.99,
                      },
                    ],
                  },
                },
                {
                  id: 'unit',
                  value: 'percentunit',
                },
              ],
            },
          ] }, options+: { sortBy: [
            {
              displayName: 'Status',
              desc: false,
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
                },
                renameByName: {
                  'Value #A': 'Status',
                  'Value #B': 'Health',
                  'Value #C': 'Probe duration',
                  'Value #D': 'Banner latency',
                  'Value #E': 'Certificate days',
                  'Value #F': 'Availability',
                },
                indexByName: {
                  instance: 0,
                  target_name: 1,
                  job: 2,
                  module: 3,
                  'Value #A': 4,
                  'Value #B': 5,
                  'Value #C': 6,
                  'Value #D': 7,
                  'Value #E': 8,
                  'Value #F': 9,
                },
              },
            },
          ] },
          timeline('Probe status over time', 12, 9, "probe_success per target (UP/DOWN). Click a row to open the target's drill-down dashboard.", lib.split('probe_success{%(s)s}', s, '{{instance}} ({{job}}, {{module}})', '{{target_name}} (agent {{instance}})')) + { fieldConfig+: { defaults+: { mappings: [
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
          ] }, links: [probeSeriesLink], color: {
            mode: 'thresholds',
          } } }, options+: { showValue: 'never', mergeValues: true, alignValue: 'left', rowHeight: 0.9, legend: {
            showLegend: false,
            displayMode: 'list',
            placement: 'bottom',
          }, tooltip: {
            mode: 'single',
            sort: 'none',
          } } },
          timeline('Health over time', 12, 9, 'probe_smtp_health per target: the state set healthy / degraded / unhealthy the exporter computes on every probe.', lib.split('probe_smtp_health{%(s)s, status="degraded"} + ignoring (status) 2 * probe_smtp_health{%(s)s, status="unhealthy"}', s, '{{instance}} ({{job}}, {{module}})', '{{target_name}} (agent {{instance}})')) + { fieldConfig+: { defaults+: { mappings: [
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
          ] }, links: [probeSeriesLink], color: {
            mode: 'thresholds',
          } } }, options+: { showValue: 'never', mergeValues: true, alignValue: 'left', rowHeight: 0.9, legend: {
            showLegend: false,
            displayMode: 'list',
            placement: 'bottom',
          }, tooltip: {
            mode: 'single',
            sort: 'none',
          } } },
        ]),
        lib.row('Latency', [
          lib.timeseries('Banner latency', 12, 8, 'Time from the TCP connection (implicit TLS: the end of the handshake) to the complete greeting (probe_smtp_banner_latency_seconds).', lib.split('probe_smtp_banner_latency_seconds{%(s)s}', s, '{{instance}} ({{module}})', '{{target_name}} (agent {{instance}})')) + { fieldConfig+: { defaults+: { unit: 's', custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
          } } }, options+: { legend+: { displayMode: 'table', calcs: [
            'lastNotNull',
            'max',
          ] } } },
          lib.heatmap('Banner latency distribution', 12, 8, "All selected targets' greeting latencies, bucketed by Grafana (the metric is a gauge; the heatmap calculates the buckets).", lib.split('probe_smtp_banner_latency_seconds{%(s)s}', s, '{{instance}}', '{{target_name}} (agent {{instance}})')) + { fieldConfig+: { defaults+: { unit: 's' } }, options+: { calculate: true, calculation: {
            yBuckets: {
              mode: 'count',
              value: '20',
              scale: {
                type: 'log',
                log: 2,
              },
            },
          }, cellGap: 1, color: {
            mode: 'scheme',
            scheme: 'Oranges',
            scale: 'exponential',
            exponent: 0.5,
            steps: 64,
            fill: 'dark-orange',
            reverse: false,
          }, yAxis: {
            axisPlacement: 'left',
            unit: 's',
          }, tooltip: {
            show: true,
            yHistogram: true,
          }, legend: {
            show: true,
          }, rowsFrame: {
            layout: 'auto',
          }, showValue: 'never', exemplars: {
            color: 'rgba(255,0,255,0.7)',
          }, filterValues: {
            le: 1e-09,
          }, cellValues: {
            unit: 'short',
          } } },
          lib.timeseries('Probe duration', 12, 8, 'Whole probe, QUIT included (probe_duration_seconds), against the deadline it had (probe_timeout_seconds, dashed).', lib.split('probe_duration_seconds{%(s)s}', s, '{{instance}} ({{module}})', '{{target_name}} (agent {{instance}})') + [lib.q(f('max(probe_timeout_seconds{%(s)s})'), 'deadline')]) + { fieldConfig+: { defaults+: { unit: 's', custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
          } } }, options+: { legend+: { displayMode: 'table', calcs: [
            'lastNotNull',
            'max',
          ] } } },
          lib.timeseries('Time per phase (average over targets)', 12, 8, 'probe_smtp_duration_seconds by phase, averaged over the selected targets and stacked: where the time goes (mx, resolve, connect, tls, banner, ehlo, starttls, auth, mail, rcpt, data, quit).', [lib.q(f('avg by (phase) (probe_smtp_duration_seconds{%(s)s})'), '{{phase}}')]) + { fieldConfig+: { defaults+: { unit: 's', custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 30,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'normal',
              group: 'A',
            },
          } } } },
          lib.table('Phase breakdown per target', 24, 8, 'Last probe of each target: seconds spent in each phase (probe_smtp_duration_seconds). A target is the /probe target (instance) or, for an agent, its target_name.', [lib.t(f('sum by (target, phase) (%s)' % lib.withTarget('probe_smtp_duration_seconds{%(s)s}')))]) + {
            fieldConfig+: { defaults+: { unit: 's' } },
            transformations: [
              { id: 'groupingToMatrix', options: { columnField: 'phase', rowField: 'target', valueField: 'Value' } },
              { id: 'organize', options: { excludeByName: {}, renameByName: { 'target\\phase': 'target' } } },
            ],
          },
        ]),
        lib.row('Certificates and TLS', [
          lib.table('Certificate expiry per target (days)', 12, 8, 'Days until the leaf certificate presented by each target expires (probe_smtp_tls_days_to_expiry), soonest first; negative once expired.', [lib.t(f('probe_smtp_tls_days_to_expiry{%(s)s}'))]) + { fieldConfig+: { overrides: [
            instanceLink,
            targetNameLink,
            {
              matcher: {
                id: 'byName',
                options: 'Days left',
              },
              properties: [
                {
                  id: 'custom.cellOptions',
                  value: {
                    type: 'color-background',
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
          ] }, options+: { sortBy: [
            {
              displayName: 'Days left',
              desc: false,
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
                  Value: 'Days left',
                },
                indexByName: {
                  instance: 0,
                  target_name: 1,
                  job: 2,
                  module: 3,
                  Value: 4,
                },
              },
            },
            {
              id: 'sortBy',
              options: {
                fields: {},
                sort: [
                  {
                    field: 'Days left',
                    desc: false,
                  },
                ],
              },
            },
          ] },
          lib.table('Certificate expiry per MX host (days)', 12, 8, 'Mail domains: days until the earliest certificate presented by each MX host address expires (probe_smtp_mx_host_ssl_earliest_cert_expiry_timestamp_seconds), soonest first.', [lib.t(f('(probe_smtp_mx_host_ssl_earliest_cert_expiry_timestamp_seconds{%(s)s} - time()) / 86400'))]) + { fieldConfig+: { overrides: [
            instanceLink,
            targetNameLink,
            {
              matcher: {
                id: 'byName',
                options: 'Days left',
              },
              properties: [
                {
                  id: 'custom.cellOptions',
                  value: {
                    type: 'color-background',
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
          ] }, options+: { sortBy: [
            {
              displayName: 'Days left',
              desc: false,
            },
          ] }, transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                },
                renameByName: {
                  Value: 'Days left',
                },
                indexByName: {
                  instance: 0,
                  target_name: 1,
                  mx: 2,
                  ip: 3,
                  job: 4,
                  module: 5,
                  Value: 6,
                },
              },
            },
            {
              id: 'sortBy',
              options: {
                fields: {},
                sort: [
                  {
                    field: 'Days left',
                    desc: false,
                  },
                ],
              },
            },
          ] },
          lib.stat('Certificates not verified', 6, 6, 'Targets whose certificate did not verify (probe_smtp_tls_verified == 0); the drill-down shows probe_smtp_tls_verify_info.', [lib.q(f('sum(1 - probe_smtp_tls_verified{%(s)s})'), 'not verified')]) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'green',
              value: null,
            },
            {
              color: 'red',
              value: 1,
            },
          ] } } }, options+: { colorMode: 'background' } },
          lib.stat('Without STARTTLS', 6, 6, 'Targets whose EHLO before TLS did not list STARTTLS (probe_smtp_starttls_offered == 0).', [lib.q(f('sum(1 - probe_smtp_starttls_offered{%(s)s})'), 'no STARTTLS')]) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'green',
              value: null,
            },
            {
              color: 'orange',
              value: 1,
            },
          ] } } }, options+: { colorMode: 'background' } },
          lib.piechart('TLS versions', 6, 6, 'Targets by negotiated TLS version (probe_tls_version_info).', [lib.i(f('count by (version) (probe_tls_version_info{%(s)s})'), '{{version}}')]) + { options+: { pieType: 'donut', displayLabels: [
            'name',
            'value',
          ], reduceOptions: {
            calcs: [
              'lastNotNull',
            ],
            fields: '',
            values: false,
          }, legend: {
            showLegend: true,
            displayMode: 'list',
            placement: 'right',
          }, tooltip: {
            mode: 'single',
            sort: 'none',
          } } },
          lib.stat('AUTH offered before TLS', 6, 6, 'Targets that advertise AUTH on the unencrypted connection (probe_smtp_auth_before_tls == 1): credentials could be sent in clear.', [lib.q(f('sum(probe_smtp_auth_before_tls{%(s)s})'), 'AUTH before TLS')]) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'green',
              value: null,
            },
            {
              color: 'red',
              value: 1,
            },
          ] } } }, options+: { colorMode: 'background' } },
        ]),
        lib.row('Mail domains (MX)', [
          lib.table('Mail domains', 12, 8, 'Targets probed as mail domains: MX records, MX hosts reachable over TCP, null MX and implicit MX (probe_smtp_mx_*).', [lib.t(f('probe_smtp_mx_records{%(s)s}')), lib.t(f('probe_smtp_mx_reachable{%(s)s}')), lib.t(f('probe_smtp_mx_null{%(s)s}')), lib.t(f('probe_smtp_mx_implicit{%(s)s}')), lib.t(f('probe_success{%(s)s} and on (job, instance, target_name, module) probe_smtp_mx_records{%(s)s}'))]) + { fieldConfig+: { overrides: [
            instanceLink,
            targetNameLink,
            {
              matcher: {
                id: 'byName',
                options: 'Domain status',
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
                options: 'Null MX',
              },
              properties: [
                {
                  id: 'custom.cellOptions',
                  value: {
                    type: 'color-text',
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
                          index: 0,
                        },
                        '1': {
                          text: 'yes',
                          color: 'red',
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
                options: 'Reachable MX hosts',
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
                        color: 'green',
                        value: 1,
                      },
                    ],
                  },
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
                },
                renameByName: {
                  'Value #A': 'MX records',
                  'Value #B': 'Reachable MX hosts',
                  'Value #C': 'Null MX',
                  'Value #D': 'Implicit MX',
                  'Value #E': 'Domain status',
                },
                indexByName: {
                  instance: 0,
                  target_name: 1,
                  job: 2,
                  module: 3,
                  'Value #E': 4,
                  'Value #A': 5,
                  'Value #B': 6,
                  'Value #C': 7,
                  'Value #D': 8,
                },
              },
            },
          ] },
          lib.table('MX host results', 12, 8, 'Every address of every MX host: whether the conversation with it succeeded (probe_smtp_mx_host_success), even when the domain as a whole passes.', [lib.t(f('probe_smtp_mx_host_success{%(s)s}'))]) + { fieldConfig+: { overrides: [
            instanceLink,
            targetNameLink,
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
          ] }, options+: { sortBy: [
            {
              displayName: 'Result',
              desc: false,
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
                  Value: 'Result',
                },
                indexByName: {
                  instance: 0,
                  target_name: 1,
                  mx: 2,
                  ip: 3,
                  Value: 4,
                  job: 5,
                  module: 6,
                },
              },
            },
          ] },
          lib.timeseries('MX host banner latency', 12, 8, 'Greeting latency of each MX host address (probe_smtp_mx_host_banner_latency_seconds).', lib.split('probe_smtp_mx_host_banner_latency_seconds{%(s)s}', s, '{{instance}} {{mx}} {{ip}}', '{{target_name}} (agent {{instance}}) {{mx}} {{ip}}')) + { fieldConfig+: { defaults+: { unit: 's', custom: {
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
          lib.table('MX host failures', 12, 8, 'Why MX host addresses fail (probe_smtp_mx_host_failure_info): a broken backup MX shows here while the domain still passes.', [lib.t(f('probe_smtp_mx_host_failure_info{%(s)s}'))]) + { fieldConfig+: { overrides: [
            instanceLink,
            targetNameLink,
          ] }, transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  Value: true,
                },
                renameByName: {},
                indexByName: {
                  instance: 0,
                  target_name: 1,
                  mx: 2,
                  ip: 3,
                  stage: 4,
                  reason: 5,
                  job: 6,
                  module: 7,
                },
              },
            },
          ] },
        ]),
        lib.row('Failures', [
          lib.table('Failure reasons', 8, 8, 'Failing targets counted by stage and reason (probe_smtp_failure_info); see docs/metrics.md for every value.', [lib.t(f('count by (stage, reason) (probe_smtp_failure_info{%(s)s})'))]) + { options+: { sortBy: [
            {
              displayName: 'Targets',
              desc: true,
            },
          ] }, transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                },
                renameByName: {
                  Value: 'Targets',
                },
                indexByName: {
                  target_name: 0,
                  stage: 1,
                  reason: 2,
                  Value: 3,
                },
              },
            },
          ] },
          lib.table('Failing targets', 16, 8, 'Each failing target with the stage and reason of its last probe. Click an instance to open its drill-down dashboard.', [lib.t(f('probe_smtp_failure_info{%(s)s}'))]) + { fieldConfig+: { overrides: [
            instanceLink,
            targetNameLink,
          ] }, transformations: [
            {
              id: 'organize',
              options: {
                excludeByName: {
                  Time: true,
                  __name__: true,
                  Value: true,
                },
                renameByName: {},
                indexByName: {
                  instance: 0,
                  target_name: 1,
                  job: 2,
                  module: 3,
                  stage: 4,
                  reason: 5,
                },
              },
            },
          ] },
          lib.timeseries('Failures by stage and reason', 24, 8, 'Number of failing targets over time, by stage and reason (probe_smtp_failure_info).', [lib.q(f('count by (stage, reason) (probe_smtp_failure_info{%(s)s})'), '{{stage}}/{{reason}}')]) + { fieldConfig+: { defaults+: { min: 0, custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 30,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'normal',
              group: 'A',
            },
          } } } },
        ]),
        lib.row('Authentication and test messages', [
          lib.table('AUTH and test message results', 12, 8, 'Modules with [auth] and/or [send]: whether AUTH got 235 (probe_smtp_auth_success), the conversations run (probe_smtp_attempts, > 1 after 4xx retries) and the probe result.', [lib.t(f('probe_smtp_auth_success{%(s)s}')), lib.t(f('probe_smtp_attempts{%(s)s}')), lib.t(f('probe_success{%(s)s} and on (job, instance, target_name, module) probe_smtp_attempts{%(s)s}'))]) + { fieldConfig+: { overrides: [
            instanceLink,
            targetNameLink,
            {
              matcher: {
                id: 'byName',
                options: 'AUTH',
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
                          text: 'failed',
                          color: 'red',
                          index: 0,
                        },
                        '1': {
                          text: 'ok',
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
                options: 'Status',
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
                },
                renameByName: {
                  'Value #A': 'AUTH',
                  'Value #B': 'Attempts',
                  'Value #C': 'Status',
                },
                indexByName: {
                  instance: 0,
                  target_name: 1,
                  job: 2,
                  module: 3,
                  'Value #C': 4,
                  'Value #A': 5,
                  'Value #B': 6,
                },
              },
            },
          ] },
          lib.table('RCPT replies', 12, 8, 'Reply code to RCPT TO per recipient (probe_smtp_rcpt_status_code) for modules that send a test message.', [lib.t(f('probe_smtp_rcpt_status_code{%(s)s}'))]) + { fieldConfig+: { overrides: [
            instanceLink,
            targetNameLink,
            {
              matcher: {
                id: 'byName',
                options: 'Code',
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
                    ],
                  },
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
                  Value: 'Code',
                },
                indexByName: {
                  instance: 0,
                  target_name: 1,
                  recipient: 2,
                  Value: 3,
                  job: 4,
                  module: 5,
                },
              },
            },
          ] },
          lib.timeseries('AUTH success over time', 12, 7, 'probe_smtp_auth_success per target (1: AUTH got 235).', lib.split('probe_smtp_auth_success{%(s)s}', s, '{{instance}} ({{module}})', '{{target_name}} (agent {{instance}})')) + { fieldConfig+: { defaults+: { min: 0, max: 1, custom: {
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
          lib.timeseries('Conversations per probe', 12, 7, 'probe_smtp_attempts: more than 1 when 4xx replies were retried (greylisting, rate limits).', lib.split('probe_smtp_attempts{%(s)s}', s, '{{instance}} ({{module}})', '{{target_name}} (agent {{instance}})')) + { fieldConfig+: { defaults+: { min: 0, custom: {
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
        lib.row('Exporter', [
          lib.stat('Exporter up', 4, 5, "Whether Prometheus can scrape the exporter's own /metrics (jobs in $exporter_job: those exposing smtp_exporter_build_info).", [lib.q(f('up{%(e)s}'), '{{instance}}')]) + { fieldConfig+: { defaults+: { mappings: [
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
          lib.stat('Version', 4, 5, 'smtp_exporter_build_info: version and revision of each exporter.', [lib.i(f('smtp_exporter_build_info{%(e)s}'), '{{version}} ({{revision}})')]) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'blue',
              value: null,
            },
          ] } } }, options+: { textMode: 'name' } },
          lib.stat('Config loaded', 4, 5, 'smtp_exporter_config_last_reload_successful: 0 means the last reload (SIGHUP, POST /-/reload) was rejected and the previous configuration is still in force.', [lib.q(f('smtp_exporter_config_last_reload_successful{%(e)s}'), '{{instance}}')]) + { fieldConfig+: { defaults+: { mappings: [
            {
              type: 'value',
              options: {
                '0': {
                  text: 'reload failed',
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
          lib.stat('Probes in flight', 4, 5, 'smtp_exporter_probes_in_flight: probes running right now.', [lib.q(f('sum(smtp_exporter_probes_in_flight{%(e)s})'), 'in flight')]) + { fieldConfig+: { defaults+: { thresholds+: { steps: [
            {
              color: 'blue',
              value: null,
            },
          ] } } }, options+: { graphMode: 'area' } },
          lib.stat('Probe failure ratio', 4, 5, 'Failed probes / all probes over the rate interval, all modules (smtp_exporter_probes_total).', [lib.q(f('sum(rate(smtp_exporter_probes_total{%(e)s, module=~"$module", result="failure"}[$__rate_interval])) / sum(rate(smtp_exporter_probes_total{%(e)s, module=~"$module"}[$__rate_interval]))'), 'failure ratio')]) + { fieldConfig+: { defaults+: { unit: 'percentunit', decimals: 1, thresholds+: { steps: [
            {
              color: 'green',
              value: null,
            },
            {
              color: 'orange',
              value: 0.05,
            },
            {
              color: 'red',
              value: 0.2,
            },
          ] } } }, options+: { graphMode: 'area' } },
          lib.stat('Uptime', 4, 5, 'Time since the exporter process started (process_start_time_seconds).', [lib.q(f('time() - max(process_start_time_seconds{%(e)s})'), 'uptime')]) + { fieldConfig+: { defaults+: { unit: 's', thresholds+: { steps: [
            {
              color: 'blue',
              value: null,
            },
          ] } } } },
          lib.timeseries('Probes per second by module and result', 12, 8, 'rate(smtp_exporter_probes_total): probes run by the exporter, from every Prometheus and every job.', [lib.q(f('sum by (module, result) (rate(smtp_exporter_probes_total{%(e)s, module=~"$module"}[$__rate_interval]))'), '{{module}} {{result}}')]) + { fieldConfig+: { defaults+: { unit: 'ops', custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 30,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'normal',
              group: 'A',
            },
          } } } },
          lib.timeseries('Probe duration quantiles by module', 12, 8, 'p50 and p90 of smtp_exporter_probe_duration_seconds per module (histogram).', [lib.q(f('histogram_quantile(0.5, sum by (le, module) (rate(smtp_exporter_probe_duration_seconds_bucket{%(e)s, module=~"$module"}[$__rate_interval])))'), 'p50 {{module}}'), lib.q(f('histogram_quantile(0.9, sum by (le, module) (rate(smtp_exporter_probe_duration_seconds_bucket{%(e)s, module=~"$module"}[$__rate_interval])))'), 'p90 {{module}}')]) + { fieldConfig+: { defaults+: { unit: 's', custom: {
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
          lib.timeseries('Probes in flight per exporter', 8, 8, 'smtp_exporter_probes_in_flight per exporter.', [lib.q(f('smtp_exporter_probes_in_flight{%(e)s}'), '{{instance}}')]) + { fieldConfig+: { defaults+: { min: 0, custom: {
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
          lib.timeseries('HTTP requests by handler and code', 8, 8, 'rate(smtp_exporter_http_requests_total). A 400 on /probe means a wrong target or module in the scrape config.', [lib.q(f('sum by (handler, code) (rate(smtp_exporter_http_requests_total{%(e)s}[$__rate_interval]))'), '{{handler}} {{code}}')]) + { fieldConfig+: { defaults+: { unit: 'reqps', custom: {
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
          lib.timeseries('Exporter resources', 8, 8, 'Resident memory, CPU and the share of file descriptors in use (process_*; each running probe holds one socket).', [lib.q(f('process_resident_memory_bytes{%(e)s}'), 'memory {{instance}}'), lib.q(f('rate(process_cpu_seconds_total{%(e)s}[$__rate_interval])'), 'CPU {{instance}}'), lib.q(f('process_open_fds{%(e)s} / process_max_fds{%(e)s}'), 'fds used {{instance}}')]) + { fieldConfig+: { defaults+: { unit: 'bytes', custom: {
            drawStyle: 'line',
            lineWidth: 1,
            fillOpacity: 10,
            showPoints: 'never',
            spanNulls: false,
            stacking: {
              mode: 'none',
              group: 'A',
            },
          } }, overrides: [
            {
              matcher: {
                id: 'byFrameRefID',
                options: 'B',
              },
              properties: [
                {
                  id: 'unit',
                  value: 'percentunit',
                },
                {
                  id: 'custom.axisPlacement',
                  value: 'right',
                },
              ],
            },
            {
              matcher: {
                id: 'byFrameRefID',
                options: 'C',
              },
              properties: [
                {
                  id: 'unit',
                  value: 'percentunit',
                },
                {
                  id: 'custom.axisPlacement',
                  value: 'right',
                },
              ],
            },
          ] } },
        ]),

      ], collapsed={
        'Mail domains (MX)': c.noMXText,
        'Authentication and test messages': c.noAuthText,
      }, runbooks={
        'Targets failing': ['SMTPProbeFailing'],
        'Targets degraded': ['SMTPDegraded', 'SMTPUnhealthy'],
        'Soonest certificate expiry': ['SMTPCertificateExpiring', 'SMTPCertificateExpired'],
        'Firing SMTP alerts': ['README'],
        'Failing targets': ['SMTPProbeFailing'],
        'Banner latency': ['SMTPBannerLatencyHigh'],
        'Certificate expiry per target (days)': ['SMTPCertificateExpiring', 'SMTPCertificateExpired'],
        'Certificates not verified': ['SMTPCertificateNotVerified'],
        'Without STARTTLS': ['SMTPStartTLSMissing'],
        'Mail domains': ['SMTPMXRecordsMissing', 'SMTPNoMXReachable'],
        'MX host results': ['SMTPMXHostFailing'],
        'AUTH and test message results': ['SMTPAuthenticationFailing', 'SMTPTemporaryFailuresPersisting'],
        'Exporter up': ['SMTPExporterScrapeErrors'],
        'Config loaded': ['SMTPExporterConfigReloadFailed'],
      }),
  },
}
