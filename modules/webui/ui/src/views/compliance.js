// SPDX-License-Identifier: BSD-2-Clause
// views/compliance.js - proof of default deny (GET /v1/compliance): per
// endpoint and direction whether default deny is in force, in which mode,
// by which policies, and how much it denied; exportable as Markdown and as
// a self-contained HTML page.

import { h, replace, table, download } from '../dom.js';
import * as api from '../api.js';
import { coverage, sortEndpoints, toMarkdown, toHTML, DIRECTIONS } from '../report.js';
import { errorNotice, loading } from './common.js';

export function mountCompliance(root, ctx) {
  const out = h('div', { class: 'report' });
  const exportBox = h('div', { class: 'export', 'aria-live': 'polite' });
  let doc = null;
  const meta = () => ({ generated: new Date().toISOString(), node: ctx.status && ctx.status.node_name, namespace: ctx.namespace || '' });
  const btnMd = h('button', { type: 'button', disabled: true, onClick: () => show('md') }, 'Export Markdown');
  const btnHtml = h('button', { type: 'button', disabled: true, onClick: () => show('html') }, 'Export HTML');

  root.append(h('section', { class: 'view view-compliance' },
    h('div', { class: 'toolbar' }, h('h1', {}, 'Compliance'), btnMd, btnHtml),
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
      doc = await api.get('/v1/compliance' + api.query({ namespace: ctx.namespace || undefined }));
      if (ctx.namespace && doc.endpoints) {
        doc = { ...doc, endpoints: doc.endpoints.filter((e) => String(e.endpoint).startsWith(ctx.namespace + '/')) };
      }
      const c = coverage(doc);
      btnMd.disabled = btnHtml.disabled = false;
      const rows = sortEndpoints(doc.endpoints).map((ep) => h('tr', { 'data-endpoint': ep.endpoint },
        h('th', { scope: 'row' }, ep.endpoint),
        DIRECTIONS.map((d) => {
          const x = ep[d] || {};
          return [
            h('td', { class: x.default_deny ? 'yes' : 'no', 'data-direction': d }, x.default_deny ? 'yes' : 'no'),
            h('td', {}, x.mode || 'none'),
            h('td', {}, (x.policies || []).join(', ') || '-'),
            h('td', { class: 'num' }, String(x.denied || 0)),
          ];
        })));
      replace(out,
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
}
