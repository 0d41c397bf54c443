// SPDX-License-Identifier: BSD-2-Clause
// views/compliance.js - proof of default deny (GET /v1/compliance): per
// endpoint and direction whether default deny is in force, in which mode,
// by which policies, and how much it denied; exportable as Markdown and as
// a self-contained HTML page.

import { h, replace, table, download, notice } from '../dom.js';
import * as api from '../api.js';
import { coverage, sortEndpoints, toMarkdown, toHTML, DIRECTIONS } from '../report.js';
import { errorNotice, loading, sinceSelect } from './common.js';

export function mountCompliance(root, ctx) {
  const out = h('div', { class: 'report' });
  const exportBox = h('div', { class: 'export', 'aria-live': 'polite' });
  let doc = null;
  const meta = () => ({ generated: (doc && doc.generated) || new Date().toISOString(), since: doc && doc.since, namespace: ctx.namespace || '' });
  const btnMd = h('button', { type: 'button', disabled: true, onClick: () => show('md') }, 'Export Markdown');
  const btnHtml = h('button', { type: 'button', disabled: true, onClick: () => show('html') }, 'Export HTML');
  let since = ctx.params.since || '24h';
  const sel = sinceSelect('comp-since', since, (v) => { since = v; load(); },
    [['1h', '1 hour'], ['24h', '24 hours'], ['168h', '7 days']]);

  root.append(h('section', { class: 'view view-compliance' },
    h('div', { class: 'toolbar' }, h('h1', {}, 'Compliance'), h('label', { for: 'comp-since' }, 'Denies counted over'), sel, btnMd, btnHtml),
    h('p', { class: 'intro' }, 'Where default deny is enforced: an endpoint is default-deny in a direction once a policy selects it there. Endpoints without it come first.'),
    exportBox, out));

  function show(kind) {
    const text = kind === 'md' ? toMarkdown(doc, meta()) : toHTML(doc, meta());
    const name = `bulwark-compliance${ctx.namespace ? '-' + ctx.namespace : ''}.${kind === 'md' ? 'md' : 'html'}`;
    replace(exportBox,
      h('div', { class: 'export-head' },
        h('strong', {}, kind === 'md' ? 'Markdown report' : 'HTML report'),
        h('button', { type: 'button', class: 'primary', onClick: () => download(name, kind === 'md' ? 'text/markdown' : 'text/html', text) }, `Download ${name}`),
        h('button', { type: 'button', onClick: () => replace(exportBox) }, 'Close')),
      h('textarea', { class: 'export-text', readonly: true, rows: 10, 'aria-label': 'Report text', 'data-format': kind }, text));
  }

  async function load() {
    replace(out, loading('compliance'));
    try {
      doc = await api.get('/v1/compliance' + api.query({ since: since || undefined }));
      if (ctx.namespace && doc.endpoints) {
        doc = { ...doc, endpoints: doc.endpoints.filter((e) => String(e.endpoint).startsWith(ctx.namespace + '/')) };
      }
      const c = coverage(doc);
      btnMd.disabled = btnHtml.disabled = false;
      const rows = sortEndpoints(doc.endpoints).map((ep) => h('tr', { 'data-endpoint': ep.endpoint },
        h('th', { scope: 'row' }, ep.endpoint),
        DIRECTIONS.map((d) => {
          const x = ep[d] || {};
          const staged = (x.staged || []).length
            ? h('div', { class: 'staged' }, `staged: ${x.staged.join(', ')}${x.staged_default_deny && !x.default_deny ? ' (would make it default-deny)' : ''}`)
            : null;
          return [
            h('td', { class: x.default_deny ? 'yes' : 'no', 'data-direction': d }, x.default_deny ? 'yes' : 'no'),
            h('td', {}, x.mode || 'none'),
            h('td', {}, (x.policies || []).join(', ') || '-', staged),
            h('td', { class: 'num' }, String(x.denied || 0), x.audited ? h('div', { class: 'audited' }, `${x.audited} audited`) : null),
          ];
        })));
      replace(out,
        doc.warning ? notice('info', doc.warning) : null,
        h('p', { class: 'summary', 'data-testid': 'coverage' },
          h('strong', {}, `${c.defaultDeny} of ${c.directions}`), ` endpoint directions are default-deny (${c.percent}%), ${c.enforced} enforced; `,
          h('strong', {}, String(c.fullyCovered)), ` of ${c.endpoints} endpoints both ways.`),
        table('Default deny per endpoint and direction',
          ['Endpoint', 'Ingress default deny', 'Mode', 'Policies', 'Denied', 'Egress default deny', 'Mode', 'Policies', 'Denied'], rows));
    } catch (e) {
      btnMd.disabled = btnHtml.disabled = true;
      replace(out, errorNotice(e, 'Compliance', 'the flow store (flowstore module)'));
    }
  }
  load();
  return { setNamespace() { replace(exportBox); load(); }, unmount() {} };
  // (the route has no namespace parameter: the view filters by the picker)
}
