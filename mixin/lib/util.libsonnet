// Small helpers shared by the alerts and the dashboards (no external libraries).
{
  // '{a, b}' from the non-empty matcher strings, or '' when there is none.
  selector(matchers)::
    local parts = [x for x in matchers if x != ''];
    if parts == [] then '' else '{' + std.join(', ', parts) + '}',

  // A matcher list to put inside braces after other matchers: '' or 'a, b, '.
  matcherPrefix(matchers)::
    local parts = [x for x in matchers if x != ''];
    std.join('', [x + ', ' for x in parts]),

  // '5m' -> '5 minutes', '1h' -> '1 hour', '30s' -> '30 seconds', '2d' -> '2 days'.
  humanDuration(d)::
    local units = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week' };
    local unit = d[std.length(d) - 1];
    local n = std.parseInt(std.substr(d, 0, std.length(d) - 1));
    assert std.objectHas(units, unit) : 'unsupported duration %s (use one unit: s, m, h, d or w)' % d;
    '%d %s%s' % [n, units[unit], if n == 1 then '' else 's'],

  // 0.5 -> 'half', 0.25 -> '25%'.
  ratioWords(r)::
    if r == 0.5 then 'half' else '%g%%' % (r * 100),
}
