// SPDX-License-Identifier: BSD-2-Clause
// views/map.js - the service map view (GET /v1/map): the graph, a legend,
// and a side panel listing the connections of what is selected (or all of
// them) as a table, with links to their flows. createMap() is the graph
// part alone, which the policy view reuses to highlight a policy's edges.

import { h, replace, notice, table } from '../dom.js';
import * as api from '../api.js';
import { Graph } from '../graph.js';
import { buildModel, portLabel } from '../mapmodel.js';
import { errorNotice, sinceSelect, policyRef } from './common.js';

export function legend() {
  return h('ul', { class: 'legend', 'aria-label': 'Legend' },
    h('li', { class: 'lg-forwarded' }, 'forwarded'),
    h('li', { class: 'lg-dropped' }, 'dropped'),
    h('li', { class: 'lg-mixed' }, 'both'),
    h('li', { class: 'lg-audit' }, 'audited (dashed)'));
}

// The graph of /v1/map for a namespace ('' = all), refreshed on demand.
export function createMap(container, { onSelect, onModel } = {}) {
  const canvas = h('div', { class: 'map-canvas' });
  const status = h('div', { class: 'map-status' });
  container.append(status, canvas);
  const graph = new Graph(canvas, { onSelect });
  const st = { namespace: '', since: '', model: null, busy: false, again: false };

  async function refresh() {
    if (st.busy) { st.again = true; return; }
    st.busy = true;
    try {
      const doc = await api.get('/v1/map' + api.query({ namespace: st.namespace || undefined, since: st.since || undefined }));
      const model = buildModel(doc);
      st.model = model;
      if (model.nodes.size === 0) {
        replace(status, notice('info', st.namespace
          ? `No connections of namespace ${st.namespace} seen yet.`
          : 'No connections seen yet: the map fills as workloads talk.'));
      } else {
        replace(status);
      }
      canvas.hidden = model.nodes.size === 0;
      await graph.render(model);
      if (onModel) onModel(model);
    } catch (e) {
      replace(status, errorNotice(e, 'The service map', 'the servicemap module'));
    } finally {
      st.busy = false;
      if (st.again) { st.again = false; refresh(); }
    }
  }

  let timer = null;
  let last = 0;
  // Live: at most one refresh every 2 s while flows arrive.
  function poke() {
    if (timer) return;
    const wait = Math.max(0, 2000 - (Date.now() - last));
    timer = setTimeout(() => { timer = null; last = Date.now(); refresh(); }, wait);
  }

  return {
    graph,
    refresh,
    poke,
    get model() { return st.model; },
    setNamespace(ns) { st.namespace = ns || ''; graph.key = null; refresh(); },
    setSince(v) { st.since = v || ''; refresh(); },
    destroy() { if (timer) clearTimeout(timer); },
  };
}

function nodeName(model, id) {
  const n = model.nodes.get(id);
  if (!n) return id;
  return n.kind === 'workload' ? `${n.namespace}/${n.label}` : n.label;
}

export function mountMap(root, ctx) {
  const title = h('h1', {}, '');
  const side = h('aside', { class: 'side-panel', 'aria-label': 'Connections' });
  const body = h('div', { class: 'map-area' });
  let map;
  const sel = sinceSelect('map-since', '', (v) => map.setSince(v));
  const toolbar = h('div', { class: 'toolbar' },
    title,
    h('label', { for: 'map-since' }, 'Seen in the last'), sel,
    h('div', { class: 'zoom', role: 'group', 'aria-label': 'Zoom' },
      h('button', { type: 'button', onClick: () => map.graph.zoom(1.25), 'aria-label': 'Zoom in' }, '+'),
      h('button', { type: 'button', onClick: () => map.graph.zoom(0.8), 'aria-label': 'Zoom out' }, '−'),
      h('button', { type: 'button', onClick: () => map.graph.fit() }, 'Fit')),
    legend());
  root.append(h('section', { class: 'view view-map' }, toolbar, h('div', { class: 'map-body' }, body, side)));

  let selection = null;

  function flowsLink(text, params) {
    return h('a', { href: ctx.href('flows', params) }, text);
  }

  function connections(model, edges, captionText) {
    const rows = [];
    const audits = edges.some((m) => m.audit > 0);
    for (const m of edges) {
      for (const p of m.ports) {
        rows.push(h('tr', { class: `verdict-row-${m.verdict}`, 'data-edge': m.id },
          h('td', {}, nodeName(model, m.source)),
          h('td', {}, nodeName(model, m.destination)),
          h('td', {}, portLabel(p)),
          h('td', { class: 'num' }, String(p.forwarded)),
          h('td', { class: 'num' }, String(p.dropped)),
          audits ? h('td', { class: 'num' }, String(p.audit)) : null));
      }
    }
    if (!rows.length) return h('p', {}, 'No connections.');
    return table(captionText, ['From', 'To', 'Port', 'Fwd', 'Drop', audits ? 'Audit' : null].filter(Boolean), rows, { class: 'connections' });
  }

  function renderSide() {
    const model = map.model;
    if (!model || model.nodes.size === 0) { replace(side); return; }
    if (selection && selection.type === 'node' && model.nodes.has(selection.id)) {
      const n = model.nodes.get(selection.id);
      const edges = [...model.edges.values()].filter((m) => m.source === n.id || m.destination === n.id);
      const pod = n.kind === 'workload' ? `${n.namespace}/${n.name}` : null;
      replace(side,
        h('h2', {}, n.kind === 'workload' ? `${n.namespace}/${n.label}` : n.label),
        h('dl', { class: 'facts' },
          h('dt', {}, 'Kind'), h('dd', {}, n.kind),
          n.identity !== undefined ? [h('dt', {}, 'Identity'), h('dd', {}, String(n.identity))] : null,
          n.addresses ? [h('dt', {}, 'Addresses'), h('dd', {}, n.addresses.join(', '))] : null),
        pod ? h('p', {}, flowsLink(`Flows of ${pod}`, { pod })) : null,
        connections(model, edges, `Connections of ${n.label}`),
        h('button', { type: 'button', onClick: () => map.graph.select(null) }, 'Show all connections'));
      return;
    }
    if (selection && selection.type === 'edge' && model.edges.has(selection.id)) {
      const m = model.edges.get(selection.id);
      const src = model.nodes.get(m.source);
      const dst = model.nodes.get(m.destination);
      const params = {};
      if (src && src.kind === 'workload') params.from = `${src.namespace}/${src.name}`;
      if (dst && dst.kind === 'workload') params.to = `${dst.namespace}/${dst.name}`;
      replace(side,
        h('h2', {}, `${nodeName(model, m.source)} → ${nodeName(model, m.destination)}`),
        connections(model, [m], 'Ports'),
        m.policies.length
          ? h('div', {}, h('h3', {}, 'Policies behind these verdicts'),
            h('ul', { class: 'policies' }, m.policies.map((p) => h('li', {}, `${policyRef(p)}: ${p.effect} (${p.verdicts})`))))
          : h('p', {}, 'No policy verdict named a policy for this connection (not enforced, or only traced).'),
        (params.from || params.to) ? h('p', {}, flowsLink('Flows of this connection', params)) : null,
        h('button', { type: 'button', onClick: () => map.graph.select(null) }, 'Show all connections'));
      return;
    }
    const edges = [...model.edges.values()].sort((a, b) => a.id.localeCompare(b.id));
    replace(side, h('h2', {}, `Connections (${edges.length})`),
      h('p', { class: 'hint' }, 'Select a workload or an arrow (click, or Tab and Enter) for its details.'),
      connections(model, edges, 'Every connection on the map'));
  }

  map = createMap(body, {
    onSelect: (s) => { selection = s; renderSide(); },
    onModel: () => renderSide(),
  });

  function setNamespace(ns) {
    title.textContent = ns ? `Service map: namespace ${ns}` : 'Service map: all namespaces';
    map.setNamespace(ns);
  }
  setNamespace(ctx.namespace);

  return {
    setNamespace,
    liveFilters: () => ({ whitelist: ctx.namespace ? [{ source_pod: [`${ctx.namespace}/`] }, { destination_pod: [`${ctx.namespace}/`] }] : [] }),
    onFlow: () => map.poke(),
    unmount: () => map.destroy(),
  };
}
