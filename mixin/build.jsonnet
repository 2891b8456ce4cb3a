// Every file generated from the mixin, by path in the repository: `jsonnet -S -m DIR build.jsonnet`
// (scripts/mixin.sh). Pass another mixin (with your _config) with --tla-code mixin='...'.
function(mixin=import 'mixin.libsonnet')
  local yaml(value) = std.manifestYamlDoc(value, indent_array_in_object=true, quote_keys=false) + '\n';
  local generated = 'Generated from mixin/ by scripts/mixin.sh: edit the jsonnet, not this file.';
  // The rules as YAML, made once: std.manifestYamlDoc takes most of jsonnet 0.18's time here,
  // and the PrometheusRule's spec is the same document two spaces further in.
  local rules = yaml(mixin.prometheusAlerts);
  local indented(text) = std.join('\n', [if line == '' then line else '  ' + line
                                          for line in std.split(std.rstripChars(text, '\n'), '\n')]) + '\n';
  {
    'alerts/smtp_exporter.rules.yml': |||
      # Prometheus alerting rules for smtp_exporter. %s
      #
      # Load with `rule_files: [/usr/share/smtp-exporter/alerts/smtp_exporter.rules.yml]` (where the .deb
      # installs it; or copy it next to prometheus.yml) and check with
      #   promtool check rules alerts/smtp_exporter.rules.yml
      #   promtool test rules alerts/tests/*.yml
      # What each expression covers, and how the alerts overlap: mixin/alerts/alerts.libsonnet.
      # Runbooks: docs/runbooks/<AlertName>.md. Alertmanager inhibit rules: docs/examples/alertmanager.yml.
    ||| % generated + rules,

    'packaging/kubernetes/prometheusrule.yaml': |||
      # prometheus-operator: smtp_exporter's alerting rules as a PrometheusRule.
      # %s
      # spec.groups is alerts/smtp_exporter.rules.yml (the test packaging.kubernetes compares them).
      # Select it with the Prometheus resource's ruleSelector (and ruleNamespaceSelector).
    ||| % generated + yaml({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: {
        name: 'smtp-exporter',
        namespace: 'monitoring',
        labels: { 'app.kubernetes.io/name': 'smtp-exporter' },
      },
    }) + 'spec:\n' + indented(rules),

    'docs/examples/alertmanager.yml': |||
      # Alertmanager example for smtp_exporter's alerts. %s
      #
      # The inhibit_rules resolve the overlaps of the alerts (mixin/alerts/alerts.libsonnet): copy them
      # into your alertmanager.yml. The route and receivers are placeholders. Check with
      #   amtool check-config docs/examples/alertmanager.yml
      # Labels missing on both alerts count as equal, so the rules work for /probe jobs and agents.
    ||| % generated + yaml({
      global: {
        smtp_smarthost: 'mail.example.com:587',
        smtp_from: 'alertmanager@example.com',
      },
      route: {
        receiver: 'mail-team',
        group_by: ['alertname', 'job', 'instance', 'target_name'],
        routes: [
          { matchers: ['severity = critical'], receiver: 'mail-oncall' },
        ],
      },
      receivers: [
        { name: 'mail-team', email_configs: [{ to: 'mail-team@example.com' }] },
        { name: 'mail-oncall', webhook_configs: [{ url: 'http://127.0.0.1:5001/page' }] },
      ],
      inhibit_rules: mixin.alertmanagerInhibitRules,
    }),
  } + {
    ['dashboards/' + name]: std.manifestJsonEx(mixin.grafanaDashboards[name], '  ') + '\n'
    for name in std.objectFields(mixin.grafanaDashboards)
  }
