// SPDX-License-Identifier: BSD-2-Clause
// views/policies.js - the policies (GET /v1/policies), the selected one's
// rules (GET /v1/policies/NS/NAME?kind=K) and, on the service map, the
// connections its verdicts allowed or denied (edges[].policies of
// GET /v1/map). With [webui] allow_changes: import, replace and delete.

import { h, replace, notice, table } from '../dom.js';
import * as api from '../api.js';
import { dump } from 'js-yaml';
import { createMap, legend } from './map.js';
import { policyEffect } from '../mapmodel.js';
import { errorNotice, field } from './common.js';

function key(p) {
  return `${p.kind}|${p.namespace}|${p.name}`;
}

export function mountPolicies(root, ctx) {
  const listBox = h('div', { class: 'policy-list' });
  const detail = h('div', { class: 'policy-detail' });
  const mapBox = h('div', { class: 'map-area small' });
  const mapNote = h('p', { class: 'map-note', role: 'status' });
  let policies = [];
  let selected = null;

  const map = createMap(mapBox, { onModel: () => highlight() });

  root.append(h('section', { class: 'view view-policies' },
    h('div', { class: 'toolbar' }, h('h1', {}, 'Policies'), legend(),
      h('ul', { class: 'legend' }, h('li', { class: 'lg-hl-allow' }, 'allowed by the selected policy'), h('li', { class: 'lg-hl-deny' }, 'denied by it'))),
    h('div', { class: 'policies-body' },
      h('div', { class: 'policies-left' }, listBox, ctx.ui.allow_changes ? importForm() : h('p', { class: 'hint' }, 'Read-only: policies are changed with bulwark policy import, or here with [webui] allow_changes = true.')),
      h('div', { class: 'policies-right' }, mapNote, mapBox, detail))));

  function highlight() {
    if (!selected) {
      map.graph.setHighlight(null);
      replace(mapNote, 'Select a policy to see the connections it allowed or denied.');
      return;
    }
    const model = map.model;
    let allow = 0;
    let deny = 0;
    if (model) {
      for (const m of model.edges.values()) {
        const e = policyEffect(m, selected);
        if (e === 'allow' || e === 'both') allow++;
        if (e === 'deny' || e === 'both') deny++;
      }
    }
    map.graph.setHighlight((m) => policyEffect(m, selected));
    replace(mapNote, `${selected.kind} ${selected.namespace ? selected.namespace + '/' : ''}${selected.name}: `,
      h('strong', { 'data-testid': 'hl-allow' }, String(allow)), ` connection${allow === 1 ? '' : 's'} allowed, `,
      h('strong', { 'data-testid': 'hl-deny' }, String(deny)), ` denied on the map.`);
  }

  async function select(p) {
    selected = p;
    for (const tr of listBox.querySelectorAll('tr[data-policy]')) tr.setAttribute('aria-selected', tr.dataset.policy === key(p) ? 'true' : 'false');
    highlight();
    replace(detail, h('p', { class: 'loading' }, 'Loading the policy…'));
    try {
      const full = await api.get(`/v1/policies/${p.namespace ? encodeURIComponent(p.namespace) + '/' : ''}${encodeURIComponent(p.name)}` + api.query({ kind: p.kind }));
      if (selected !== p) return;
      replace(detail,
        h('h2', {}, `${full.kind} ${full.namespace ? full.namespace + '/' : ''}${full.name}`),
        h('dl', { class: 'facts' },
          h('dt', {}, 'Source'), h('dd', {}, full.source),
          h('dt', {}, 'Revision'), h('dd', {}, String(full.revision)),
          h('dt', {}, 'Updated'), h('dd', {}, full.updated),
          h('dt', {}, 'Selects'), h('dd', {}, `${full.selected_endpoints} endpoint${full.selected_endpoints === 1 ? '' : 's'}`)),
        h('h3', {}, `Rules (${full.rules_count}), in bulwark's rule model`),
        h('pre', { class: 'yaml', tabindex: 0 }, dump(full.rules || [], { noRefs: true, lineWidth: 100 })),
        ctx.ui.allow_changes ? h('button', { type: 'button', class: 'danger', onClick: () => remove(full) }, 'Delete this policy') : null);
    } catch (e) {
      replace(detail, errorNotice(e, 'The policy'));
    }
  }

  async function remove(p) {
    if (!window.confirm(`Delete ${p.kind} ${p.namespace ? p.namespace + '/' : ''}${p.name}?`)) return;
    try {
      await api.send('DELETE', `/v1/policies/${p.namespace ? encodeURIComponent(p.namespace) + '/' : ''}${encodeURIComponent(p.name)}` + api.query({ kind: p.kind }));
      selected = null;
      await load();
      replace(detail, notice('info', 'Deleted.'));
    } catch (e) {
      replace(detail, errorNotice(e, 'Delete'));
    }
  }

  function render() {
    const shown = policies.filter((p) => !ctx.namespace || p.namespace === ctx.namespace || p.namespace === '');
    if (!shown.length) {
      replace(listBox, notice('info', ctx.namespace ? `No policy applies to namespace ${ctx.namespace}.` : 'No policies: every endpoint is open (nothing is enforced).'));
      return;
    }
    replace(listBox, table(`${shown.length} polic${shown.length === 1 ? 'y' : 'ies'}`, ['Name', 'Namespace', 'Kind', 'Rules', 'Selects'],
      shown.map((p) => {
        const tr = h('tr', { tabindex: 0, 'data-policy': key(p), 'aria-selected': selected && key(selected) === key(p) ? 'true' : 'false' },
          h('td', {}, p.name), h('td', {}, p.namespace || '(cluster)'), h('td', {}, p.kind),
          h('td', { class: 'num' }, String(p.rules_count)), h('td', { class: 'num' }, String(p.selected_endpoints)));
        tr.addEventListener('click', () => select(p));
        tr.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(p); } });
        return tr;
      }), { class: 'selectable' }));
  }

  async function load() {
    try {
      const doc = await api.get('/v1/policies');
      policies = doc.policies || [];
      if (selected && !policies.some((p) => key(p) === key(selected))) selected = null;
      render();
    } catch (e) {
      replace(listBox, errorNotice(e, 'The policy list'));
    }
  }

  function importForm() {
    const text = h('textarea', { id: 'import-text', rows: 8, spellcheck: 'false', placeholder: 'apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n…' });
    const file = h('input', { id: 'import-file', type: 'file', accept: '.yaml,.yml,.json' });
    const out = h('div', { 'aria-live': 'polite' });
    file.addEventListener('change', async () => { if (file.files[0]) text.value = await file.files[0].text(); });
    async function go(method) {
      if (method === 'PUT' && !window.confirm('Replace every API-managed policy by this file? Policies not in it are deleted.')) return;
      try {
        const r = await api.send(method, '/v1/policies' + api.query({ source: 'webui' }), text.value);
        replace(out, notice('info', `${method === 'PUT' ? 'Replaced' : 'Imported'}: ${r.changed} changed, ${r.total} policies in all.`));
        await load();
      } catch (e) {
        replace(out, errorNotice(e, method === 'PUT' ? 'Replace' : 'Import'));
      }
    }
    return h('form', { class: 'import', onSubmit: (e) => { e.preventDefault(); go('POST'); } },
      h('h2', {}, 'Import policies'),
      field('Policy YAML or JSON', text),
      field('or a file', file),
      h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Import'),
        h('button', { type: 'button', class: 'danger', onClick: () => go('PUT') }, 'Replace all API-managed')),
      out);
  }

  map.setNamespace(ctx.namespace);
  load();
  return {
    setNamespace(ns) { map.setNamespace(ns); render(); },
    liveFilters: () => ({ whitelist: ctx.namespace ? [{ source_pod: [`${ctx.namespace}/`] }, { destination_pod: [`${ctx.namespace}/`] }] : [] }),
    onFlow: () => map.poke(),
    unmount: () => map.destroy(),
  };
}
