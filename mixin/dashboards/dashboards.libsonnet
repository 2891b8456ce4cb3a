(import 'overview.libsonnet') + (import 'target.libsonnet')
