// Minimal Grafana panel constructors (no grafonnet): every panel and query uses the data source
// variable ${datasource}; panels get ids and grid positions from layout().
local ds = { type: 'prometheus', uid: '${datasource}' };

{
  ds: ds,

  // A range query (time series, stat, state timeline).
  q(expr, legend='__auto'):: {
    datasource: ds,
    expr: expr,
    legendFormat: legend,
    editorMode: 'code',
    range: true,
    instant: false,
  },
  // An instant query whose result is one table.
  t(expr):: self.q(expr) + { range: false, instant: true, format: 'table' },
  // An instant query shown as time series data (piechart, stat of the current value).
  i(expr, legend='__auto'):: self.q(expr, legend) + { range: false, instant: true },

  // expr with a label `target`: target_name for agent series, else instance (the /probe target).
  // For tables that group by target (a legend would use lib.split instead).
  withTarget(expr):: 'label_replace(label_replace(%s, "target", "$1", "instance", "(.*)"), "target", "$1", "target_name", "(.+)")' % expr,

  // The same query twice: refId A for /probe series (no target_name; `instance` is the SMTP
  // target), B for agent series (target_name set; `instance` is the exporter). Each legend then
  // uses only labels its series have. `expr` is a format string with %(s)s for the selector.
  // `make` builds one target (self.q or self.i).
  split(expr, sel, legend, agentLegend, make=null)::
    local mk = if make == null then $.q else make;
    [
      mk(expr % { s: sel + ', target_name=""' }, legend),
      mk(expr % { s: sel + ', target_name!=""' }, agentLegend),
    ],

  local defaults = {
    datasource: ds,
    fieldConfig: {
      defaults: {
        mappings: [],
        thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }] },
      },
      overrides: [],
    },
  },

  panel(type, title, w, h, description, targets):: defaults {
    type: type,
    title: title,
    description: description,
    targets: [targets[i] { refId: std.char(65 + i) } for i in std.range(0, std.length(targets) - 1)],
    options: {},
    gridPos: { w: w, h: h },
  },

  stat(title, w, h, description, targets):: self.panel('stat', title, w, h, description, targets) + {
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'none',
      textMode: 'auto',
      justifyMode: 'auto',
      orientation: 'auto',
    },
  },

  table(title, w, h, description, targets):: self.panel('table', title, w, h, description, targets) + {
    options: { cellHeight: 'sm', footer: { reducer: ['sum'], show: false }, showHeader: true },
    transformations: [],
  },

  timeseries(title, w, h, description, targets):: self.panel('timeseries', title, w, h, description, targets) + {
    options: {
      legend: { calcs: [], displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  },

  stateTimeline(title, w, h, description, targets):: self.panel('state-timeline', title, w, h, description, targets),
  heatmap(title, w, h, description, targets):: self.panel('heatmap', title, w, h, description, targets),
  piechart(title, w, h, description, targets):: self.panel('piechart', title, w, h, description, targets),

  // Text shown instead of "No data" by every panel of a row (for rows of optional features).
  noValue(text, panels):: [p { fieldConfig+: { defaults+: { noValue: text } } } for p in panels],

  // Links from a panel's title menu to runbooks: [[title, url], ...].
  runbookLinks(links):: { links: [{ title: l[0], url: l[1], targetBlank: true } for l in links] },

  row(title, panels, collapsed=false):: { title: title, panels: panels, collapsed: collapsed },

  // Rows of panels -> the dashboard's panel list: ids in order, panels placed left to right in
  // lines (a panel that does not fit starts a new line below the tallest of the current one).
  // A collapsed row keeps its panels inside it, placed as they would be when expanded.
  layout(rows)::
    local place(panels, y0) =
      std.foldl(
        function(acc, p)
          local fits = acc.x + p.gridPos.w <= 24;
          local x = if fits then acc.x else 0;
          local y = if fits then acc.y else acc.bottom;
          {
            out: acc.out + [p { gridPos+: { x: x, y: y } }],
            x: x + p.gridPos.w,
            y: y,
            bottom: std.max(if fits then acc.bottom else y, y + p.gridPos.h),
          },
        panels,
        { out: [], x: 0, y: y0, bottom: y0 }
      );
    local step(acc, r) =
      local placed = place(r.panels, acc.y + 1);
      local n = std.length(r.panels);
      local ids = std.range(acc.id + 1, acc.id + n);
      local inner = [placed.out[i] { id: ids[i] } for i in std.range(0, n - 1)];
      local rowPanel = {
        type: 'row',
        title: r.title,
        collapsed: r.collapsed,
        id: acc.id,
        gridPos: { h: 1, w: 24, x: 0, y: acc.y },
        panels: if r.collapsed then inner else [],
      };
      {
        out: acc.out + [rowPanel] + (if r.collapsed then [] else inner),
        id: acc.id + n + 1,
        y: if r.collapsed then acc.y + 1 else placed.bottom,
      };
    std.foldl(step, rows, { out: [], id: 1, y: 0 }).out,

  queryVariable(name, label, query, multi=true, includeAll=true):: {
    name: name,
    label: label,
    type: 'query',
    datasource: ds,
    definition: query,
    query: query,
    refresh: 2,
    sort: 1,
    multi: multi,
    includeAll: includeAll,
    current: if includeAll then { selected: true, text: ['All'], value: ['$__all'] } else {},
    hide: 0,
    options: [],
    regex: '',
    skipUrlSync: false,
  } + (if includeAll then { allValue: '.*' } else {}),

  datasourceVariable:: {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    current: {},
    hide: 0,
    includeAll: false,
    multi: false,
    options: [],
    refresh: 1,
    regex: '',
    skipUrlSync: false,
  },

  // collapsed: {row title: text}: rows to collapse, their panels showing text instead of "No data".
  // runbooks: {panel title: [alert name, ...]}: runbook links in the panel's menu ('README': the index).
  dashboard(c, file, title, description, panelTypes, links, variables, rows, collapsed={}, runbooks={})::
    local runbookLink(a) =
      if a == 'README' then ['Runbooks (every SMTP alert)', c.runbookURLPattern % a]
      else ['Runbook: ' + a, c.runbookURLPattern % a];
    local withRunbooks(p) =
      if std.objectHas(runbooks, p.title) then p + $.runbookLinks([runbookLink(a) for a in runbooks[p.title]]) else p;
    local finish(r) =
      local panels = [withRunbooks(p) for p in r.panels];
      if std.objectHas(collapsed, r.title)
      then r { collapsed: true, panels: $.noValue(collapsed[r.title], panels) }
      else r { panels: panels };
    local unknown = [t for t in std.objectFields(collapsed) if !std.member([r.title for r in rows], t)] +
                    [t for t in std.objectFields(runbooks) if !std.member([p.title for r in rows for p in r.panels], t)];
    assert unknown == [] : 'no row or panel titled %s' % std.join(', ', unknown);
    {
      __requires: [
        { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.0.0' },
        { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
      ] + [{ type: 'panel', id: t, name: t, version: '' } for t in panelTypes],
      annotations: {
        list: [{
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        }],
      },
      description: description,
      editable: true,
      fiscalYearStartMonth: 0,
      graphTooltip: 1,
      id: null,
      links: links,
      liveNow: false,
      panels: $.layout([finish(r) for r in rows]),
      refresh: c.dashboardRefresh,
      schemaVersion: 38,
      style: 'dark',
      tags: c.dashboardTags,
      templating: { list: variables },
      time: c.dashboardTime,
      timepicker: {},
      timezone: '',
      title: c.dashboardTitlePrefix + title,
      uid: c.dashboardUIDs[file],
      version: 1,
      weekStart: '',
    },
}
