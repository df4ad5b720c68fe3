/**
 * The dashboard: one self-contained page (no build step, no external assets) that fetches
 * /api/cluster every second and redraws one card per node. The script avoids template literals
 * so this file can hold it in one.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dcache cluster</title>
<style>
  :root { --bg: #0f1419; --card: #1a222c; --text: #e6e9ed; --muted: #8a96a3; --up: #3fb950; --down: #f85149; --bar: #2f81f7; --share: #a371f7; --track: #2d3742; }
  * { box-sizing: border-box; }
  body { margin: 0; padding: 24px; background: var(--bg); color: var(--text); font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
  header { display: flex; align-items: baseline; gap: 16px; margin-bottom: 20px; }
  h1 { font-size: 22px; margin: 0; }
  #updated { color: var(--muted); font-size: 13px; }
  #summary { font-size: 14px; }
  #nodes { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 16px; }
  .node { background: var(--card); border-radius: 10px; padding: 16px; border-left: 5px solid var(--up); }
  .node.down { border-left-color: var(--down); opacity: 0.75; }
  .title { display: flex; justify-content: space-between; align-items: center; }
  .title h2 { font-size: 18px; margin: 0; }
  .url { color: var(--muted); font-size: 12px; margin: 2px 0 12px; }
  .status { font-weight: 700; font-size: 12px; padding: 2px 8px; border-radius: 999px; background: var(--up); color: #04140a; }
  .down .status { background: var(--down); color: #fff; }
  .label { display: flex; justify-content: space-between; font-size: 13px; color: var(--muted); margin-top: 10px; }
  .track { height: 10px; background: var(--track); border-radius: 5px; overflow: hidden; margin-top: 4px; }
  .fill { height: 100%; background: var(--bar); width: 0; transition: width 0.4s; }
  .share .fill { background: var(--share); }
  dl { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; margin: 14px 0 0; }
  dt { color: var(--muted); font-size: 12px; }
  dd { margin: 0; font-size: 20px; font-variant-numeric: tabular-nums; }
  .error { color: var(--down); font-size: 12px; margin-top: 10px; min-height: 1em; }
  footer { color: var(--muted); font-size: 13px; margin-top: 20px; }
  #ring { background: var(--card); border-radius: 10px; padding: 12px 16px; margin-bottom: 16px; display: flex; flex-wrap: wrap; gap: 8px 28px; align-items: baseline; font-size: 14px; }
  #ring .name { color: var(--muted); font-size: 12px; margin-right: 6px; }
  #transition[data-state="open"] [data-field="window"] { color: var(--share); font-weight: 700; }
  #transition dl { display: inline-grid; grid-template-columns: repeat(5, auto); gap: 0 16px; margin: 0 0 0 12px; }
  #transition dd { font-size: 15px; }
</style>
</head>
<body>
<header><h1>dcache cluster</h1><span id="summary"></span><span id="updated">connecting…</span></header>
<section id="ring">
  <div><span class="name">ring</span><span data-field="members"></span></div>
  <div id="transition" data-state="none"><span class="name">transition window</span><span data-field="window">no ring change yet</span>
    <dl>
      <div><dt>fallback reads</dt><dd data-field="fallbackReads">0</dd></div>
      <div><dt>fallback hits</dt><dd data-field="fallbackHits">0</dd></div>
      <div><dt>backfilled</dt><dd data-field="backfilled">0</dd></div>
      <div><dt>invalidated</dt><dd data-field="invalidated">0</dd></div>
      <div><dt>windows</dt><dd data-field="transitions">0</dd></div>
    </dl>
  </div>
</section>
<main id="nodes"></main>
<footer>Memory is what each node accounts (keys + values + per-entry overhead) against its --max-memory.
Ring share: fraction of 10,000 sample keys whose primary is that node. Transition window: after a node joins or
leaves, the scaling client's misses on a key's new owner ask its previous owner, and copy (backfill) what they find.
Refreshes every second.</footer>
<script>
  var UNITS = ['B', 'KiB', 'MiB', 'GiB'];
  function bytes(n) {
    var unit = 0;
    while (n >= 1024 && unit < UNITS.length - 1) { n /= 1024; unit++; }
    return (unit === 0 ? String(n) : n.toFixed(1)) + ' ' + UNITS[unit];
  }
  function percent(ratio) { return (ratio * 100).toFixed(1) + '%'; }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function field(dl, name, label) {
    var wrap = el('div');
    wrap.appendChild(el('dt', '', label));
    var dd = el('dd');
    dd.dataset.field = name;
    wrap.appendChild(dd);
    dl.appendChild(wrap);
  }
  function bar(card, name, label) {
    var row = el('div', 'label');
    row.appendChild(el('span', '', label));
    var value = el('span');
    value.dataset.field = name;
    row.appendChild(value);
    var track = el('div', 'track ' + name);
    var fill = el('div', 'fill');
    fill.dataset.bar = name;
    track.appendChild(fill);
    card.appendChild(row);
    card.appendChild(track);
  }
  function card(url) {
    var c = el('section', 'node');
    c.dataset.url = url;
    var title = el('div', 'title');
    var h2 = el('h2');
    h2.dataset.field = 'nodeId';
    title.appendChild(h2);
    var status = el('span', 'status');
    status.dataset.field = 'status';
    title.appendChild(status);
    c.appendChild(title);
    c.appendChild(el('div', 'url', url));
    bar(c, 'memory', 'memory');
    bar(c, 'share', 'ring share');
    var dl = el('dl');
    field(dl, 'items', 'items');
    field(dl, 'hitRate', 'hit rate');
    field(dl, 'opsPerSecond', 'ops/s');
    c.appendChild(dl);
    var error = el('div', 'error');
    error.dataset.field = 'error';
    c.appendChild(error);
    return c;
  }
  function set(c, name, text) { c.querySelector('[data-field="' + name + '"]').textContent = text; }
  function renderTransition(t) {
    var panel = document.getElementById('transition');
    var state = t === null ? 'none' : t.open ? 'open' : t.transitions > 0 ? 'closed' : 'none';
    panel.dataset.state = state;
    var text = 'no ring change yet';
    if (state === 'open') text = 'OPEN since ' + new Date(t.openedAt).toLocaleTimeString();
    else if (state === 'closed') text = 'closed (' + t.lastCloseReason + ')';
    set(panel, 'window', text);
    ['fallbackReads', 'fallbackHits', 'backfilled', 'invalidated', 'transitions'].forEach(function (name) {
      set(panel, name, t === null ? '0' : t[name].toLocaleString('en'));
    });
  }
  function render(view) {
    var root = document.getElementById('nodes');
    var urls = view.nodes.map(function (node) { return node.url; });
    Array.prototype.slice.call(root.querySelectorAll('section.node')).forEach(function (c) {
      if (urls.indexOf(c.dataset.url) === -1) root.removeChild(c);
    });
    set(document.getElementById('ring'), 'members', view.nodes.length + ' nodes: ' +
      view.nodes.map(function (node) { return node.nodeId; }).join(', '));
    renderTransition(view.transition);
    view.nodes.forEach(function (node) {
      var c = root.querySelector('[data-url="' + node.url + '"]');
      if (!c) { c = card(node.url); root.appendChild(c); }
      c.dataset.node = node.nodeId;
      c.dataset.up = String(node.up);
      c.classList.toggle('down', !node.up);
      set(c, 'nodeId', node.nodeId);
      set(c, 'status', node.up ? 'UP' : 'DOWN');
      set(c, 'memory', node.up ? bytes(node.memoryUsed) + ' / ' + bytes(node.maxMemory) : '—');
      c.querySelector('[data-bar="memory"]').style.width = (node.maxMemory ? Math.min(100, 100 * node.memoryUsed / node.maxMemory) : 0) + '%';
      set(c, 'share', percent(node.ringShare));
      c.querySelector('[data-bar="share"]').style.width = (100 * node.ringShare) + '%';
      set(c, 'items', node.up ? node.items.toLocaleString('en') : '—');
      set(c, 'hitRate', node.up ? percent(node.hitRate) : '—');
      set(c, 'opsPerSecond', node.up ? node.opsPerSecond.toLocaleString('en') : '—');
      set(c, 'error', node.up ? '' : 'unreachable: ' + (node.error || ''));
    });
    var up = view.nodes.filter(function (node) { return node.up; });
    var ops = up.reduce(function (sum, node) { return sum + node.opsPerSecond; }, 0);
    var items = up.reduce(function (sum, node) { return sum + node.items; }, 0);
    document.getElementById('summary').textContent = up.length + ' of ' + view.nodes.length + ' nodes up · ' +
      items.toLocaleString('en') + ' items (replicas included) · ' + Math.round(ops).toLocaleString('en') + ' ops/s';
    document.getElementById('updated').textContent = 'updated ' + new Date(view.time).toLocaleTimeString();
  }
  function tick() {
    fetch('/api/cluster', { cache: 'no-store' })
      .then(function (response) { return response.json(); })
      .then(render)
      .catch(function (error) { document.getElementById('updated').textContent = 'demo unreachable: ' + error.message; });
  }
  tick();
  setInterval(tick, 1000);
</script>
</body>
</html>
`;
