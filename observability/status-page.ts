/**
 * The `/topology` page: the topology as SVG and the tasks this instance owns (their
 * partitions, lag, state and rates), refreshed live from `/topology.json`. No external
 * assets: one self-contained HTML document.
 */

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function statusPage(applicationId: string, svg: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>millrace · ${escapeHtml(applicationId)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330}
h1{font-size:20px;margin:0 0 4px} .sub{color:#5b6577;margin-bottom:16px}
.topology{border:1px solid #d8dde6;border-radius:8px;padding:12px;overflow:auto;max-height:60vh;background:#fbfcfe}
.topology svg{max-width:100%;height:auto}
table{border-collapse:collapse;margin-top:16px;min-width:640px} th,td{border-bottom:1px solid #e3e7ee;padding:6px 10px;text-align:left}
th{background:#f3f5f9} td.num{text-align:right;font-variant-numeric:tabular-nums}
.state-running{color:#17803d;font-weight:600} .state-restoring{color:#b45309;font-weight:600} .state-other{color:#6b7280}
</style></head>
<body>
<h1>millrace · <span id="app">${escapeHtml(applicationId)}</span></h1>
<div class="sub"><span id="instance"></span> · state <b id="state">…</b> · guarantee <span id="guarantee"></span> · updated <span id="updated"></span></div>
<div class="topology" id="topology">${svg || '<p>(no diagram)</p>'}</div>
<table id="tasks"><thead><tr><th>task</th><th>state</th><th>partitions</th><th>lag</th><th>processed</th><th>records/s</th><th>commits</th><th>restored</th><th>restore remaining</th></tr></thead><tbody></tbody></table>
<script>
async function refresh() {
  try {
    const s = await (await fetch('/topology.json', { cache: 'no-store' })).json();
    document.getElementById('instance').textContent = s.instanceId;
    document.getElementById('state').textContent = s.state;
    document.getElementById('guarantee').textContent = s.guarantee;
    document.getElementById('updated').textContent = new Date(s.updatedAt).toLocaleTimeString();
    const body = document.querySelector('#tasks tbody');
    body.replaceChildren(...s.tasks.map((t) => {
      const tr = document.createElement('tr');
      tr.dataset.task = t.id;
      const known = t.partitions.filter((p) => p.lag !== null);
      const lag = known.length ? known.reduce((n, p) => n + p.lag, 0) : '—';
      const cells = [t.id, t.state, t.partitions.map((p) => p.topic + '[' + p.partition + ']').join(', '), lag, t.processed, t.ratePerSecond.toFixed(1), t.commits, t.restored, t.restoreRemaining];
      const names = ['task', 'state', 'partitions', 'lag', 'processed', 'rate', 'commits', 'restored', 'restore-remaining'];
      cells.forEach((v, i) => {
        const td = document.createElement('td');
        td.textContent = String(v);
        td.dataset.col = names[i];
        if (i >= 3) td.className = 'num';
        if (i === 1) td.className = t.state === 'running' ? 'state-running' : t.state === 'restoring' ? 'state-restoring' : 'state-other';
        tr.appendChild(td);
      });
      return tr;
    }));
  } catch (e) { document.getElementById('state').textContent = 'unreachable'; }
}
refresh(); setInterval(refresh, 1000);
</script>
</body></html>
`;
}
