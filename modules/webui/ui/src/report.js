// SPDX-License-Identifier: BSD-2-Clause
// report.js - the compliance report (GET /v1/compliance, issue 11's shape:
// {"endpoints":[{"endpoint":"NS/POD","ingress":{"default_deny":B,
// "mode":"enforce|audit|none","policies":["Kind NS/NAME",...],"denied":N},
// "egress":{...}}]}) as numbers, Markdown and a self-contained HTML page a
// security team can attach to an audit.

export const DIRECTIONS = ['ingress', 'egress'];

function dirOf(ep, d) {
  return ep[d] || { default_deny: false, mode: 'none', policies: [], denied: 0 };
}

// Unprotected first (as `bulwark compliance` lists them), then by name.
export function sortEndpoints(endpoints) {
  const open = (ep) => DIRECTIONS.filter((d) => !dirOf(ep, d).default_deny).length;
  return [...(endpoints || [])].sort((a, b) => open(b) - open(a) || String(a.endpoint).localeCompare(String(b.endpoint)));
}

export function coverage(doc) {
  const eps = (doc && doc.endpoints) || [];
  let total = 0;
  let denied = 0;
  let enforced = 0;
  let full = 0;
  for (const ep of eps) {
    let both = true;
    for (const d of DIRECTIONS) {
      const x = dirOf(ep, d);
      total++;
      if (x.default_deny) {
        denied++;
        if (x.mode === 'enforce') enforced++;
      } else {
        both = false;
      }
    }
    if (both) full++;
  }
  return {
    endpoints: eps.length,
    directions: total,
    defaultDeny: denied,
    enforced,
    fullyCovered: full,
    percent: total ? Math.round((denied * 1000) / total) / 10 : 0,
  };
}

function cell(x) {
  return `${x.default_deny ? 'yes' : 'NO'} (${x.mode || 'none'})`;
}

function mdEscape(s) {
  return String(s).replace(/[|\\`*_[\]<>]/g, (c) => '\\' + c);
}

export function toMarkdown(doc, meta = {}) {
  const c = coverage(doc);
  const lines = [];
  lines.push('# Default-deny compliance report');
  lines.push('');
  if (meta.generated) lines.push(`Generated: ${meta.generated}  `);
  if (meta.since) lines.push(`Denies counted since: ${meta.since}  `);
  if (meta.node) lines.push(`Node: ${mdEscape(meta.node)}  `);
  if (meta.namespace) lines.push(`Namespace: ${mdEscape(meta.namespace)}  `);
  lines.push(`Endpoints: ${c.endpoints}; directions with default deny: ${c.defaultDeny} of ${c.directions} (${c.percent}%), enforced: ${c.enforced}; endpoints default-deny both ways: ${c.fullyCovered}`);
  lines.push('');
  lines.push('| Endpoint | Ingress default deny | Ingress policies | Ingress denied | Egress default deny | Egress policies | Egress denied |');
  lines.push('| --- | --- | --- | ---: | --- | --- | ---: |');
  const pols = (x) => mdEscape([...(x.policies || []), ...(x.staged || []).map((p) => `${p} (staged)`)].join(', ') || '-');
  const denied = (x) => `${x.denied || 0}${x.audited ? ` (+${x.audited} audited)` : ''}`;
  for (const ep of sortEndpoints(doc && doc.endpoints)) {
    const i = dirOf(ep, 'ingress');
    const e = dirOf(ep, 'egress');
    lines.push(`| ${mdEscape(ep.endpoint)} | ${cell(i)} | ${pols(i)} | ${denied(i)} | ${cell(e)} | ${pols(e)} | ${denied(e)} |`);
  }
  lines.push('');
  return lines.join('\n');
}

export function htmlEscape(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

export function toHTML(doc, meta = {}) {
  const c = coverage(doc);
  const row = (ep) => {
    const tds = [`<th scope="row">${htmlEscape(ep.endpoint)}</th>`];
    for (const d of DIRECTIONS) {
      const x = dirOf(ep, d);
      tds.push(`<td class="${x.default_deny ? 'ok' : 'bad'}">${x.default_deny ? 'yes' : 'NO'}</td>`);
      tds.push(`<td>${htmlEscape(x.mode || 'none')}</td>`);
      tds.push(`<td>${htmlEscape([...(x.policies || []), ...(x.staged || []).map((p) => `${p} (staged)`)].join(', ') || '-')}</td>`);
      tds.push(`<td class="num">${Number(x.denied || 0)}${x.audited ? ` (+${Number(x.audited)} audited)` : ''}</td>`);
    }
    return `<tr>${tds.join('')}</tr>`;
  };
  const rows = sortEndpoints(doc && doc.endpoints).map(row).join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Default-deny compliance report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;color:#1f2328;margin:2em}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left}
thead th{background:#f6f8fa}.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}.num{text-align:right}
</style></head><body>
<h1>Default-deny compliance report</h1>
<p>${meta.generated ? `Generated ${htmlEscape(meta.generated)}. ` : ''}${meta.since ? `Denies counted since ${htmlEscape(meta.since)}. ` : ''}${meta.node ? `Node ${htmlEscape(meta.node)}. ` : ''}${meta.namespace ? `Namespace ${htmlEscape(meta.namespace)}. ` : ''}</p>
<p>${c.endpoints} endpoints; directions with default deny: <strong>${c.defaultDeny} of ${c.directions} (${c.percent}%)</strong>, enforced: ${c.enforced}; endpoints default-deny both ways: ${c.fullyCovered}.</p>
<table><thead><tr><th rowspan="2">Endpoint</th><th colspan="4">Ingress</th><th colspan="4">Egress</th></tr>
<tr><th>Default deny</th><th>Mode</th><th>Policies</th><th>Denied</th><th>Default deny</th><th>Mode</th><th>Policies</th><th>Denied</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
