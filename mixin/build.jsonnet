// Every file generated from the mixin, by path in the repository: `jsonnet -S -m DIR build.jsonnet`
// (scripts/mixin.sh). Pass another mixin (with your _config) with --tla-code mixin='...'.
function(mixin=import 'mixin.libsonnet')
  local yaml(value) = std.manifestYamlDoc(value, indent_array_in_object=true, quote_keys=false) + '\n';
  local generated = 'Generated from mixin/ by scripts/mixin.sh: edit the jsonnet, not this file.';
  {
    'alerts/smtp_exporter.rules.yml': |||
      # Prometheus alerting rules for smtp_exporter. %s
      #
      # Load with `rule_files: [/usr/share/smtp-exporter/alerts/smtp_exporter.rules.yml]` (where the .deb
      # installs it; or copy it next to prometheus.yml) and check with
      #   promtool check rules alerts/smtp_exporter.rules.yml
      #   promtool test rules alerts/tests/*.yml
      # What each expression covers, and how the alerts overlap: mixin/alerts/alerts.libsonnet.
      # Runbooks: docs/runbooks/<AlertName>.md. Alertmanager: README.md#alertmanager.
    ||| % generated + yaml(mixin.prometheusAlerts),
  } + {
    ['dashboards/' + name]: std.manifestJsonEx(mixin.grafanaDashboards[name], '  ') + '\n'
    for name in std.objectFields(mixin.grafanaDashboards)
  }
