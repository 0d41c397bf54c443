// SPDX-License-Identifier: BSD-2-Clause
// views/exposure.js - the talk's three measures of risk per namespace
// (GET /v1/exposure, docs/adoption.md): workloads reachable from outside
// the cluster, from other namespaces, and able to reach the outside, for
// which no traffic was seen. Namespaces are ranked by exposure, as
// `bulwark exposure` ranks them.

import { h, replace, table, notice } from '../dom.js';
import * as api from '../api.js';
import { errorNotice, loading, sinceSelect } from './common.js';
import { MEASURES, exposureScore, rankNamespaces, measureState } from '../adoption.js';

const STATE_TEXT = { exposed: 'allowed, unused', used: 'allowed, used', closed: 'closed' };

function cellOf(m) {
  if (!m) return h('td', {}, '-');
  const st = measureState(m);
  const pols = (m.policies || []).join(', ');
  return h('td', { class: st, 'data-state': st, title: pols ? `allowed by ${pols}` : null }, STATE_TEXT[st],
    m.allowed && pols ? h('div', { class: 'by' }, `by ${pols}`) : m.allowed ? h('div', { class: 'by' }, 'not enforced') : null);
}

export function mountExposure(root, ctx) {
  const out = h('div', { class: 'report' });
  let since = ctx.params.since || '24h';
  const sel = sinceSelect('exp-since', since, (v) => { since = v; load(); },
    [['1h', '1 hour'], ['24h', '24 hours'], ['168h', '7 days'], ['', 'all history']]);
  root.append(h('section', { class: 'view view-exposure' },
    h('div', { class: 'toolbar' }, h('h1', {}, 'Exposure'), h('label', { for: 'exp-since' }, 'Traffic seen in the last'), sel),
    h('p', { class: 'intro' }, 'For each namespace, how many workloads policy leaves reachable (or able to reach out) where no traffic was seen: risk that costs nothing to remove. Lock down the most exposed namespaces first.'),
    out));

  async function load() {
    replace(out, loading('exposure'));
    try {
      const doc = await api.get('/v1/exposure' + api.query({ namespace: ctx.namespace || undefined, since: since || undefined }));
      const nss = rankNamespaces(doc);
      if (!nss.length) {
        replace(out, h('p', {}, 'No namespaces with endpoints.'));
        return;
      }
      replace(out,
        doc.warning ? notice('info', doc.warning) : null,
        table('Unused exposure per namespace (workloads), most exposed first',
          ['Namespace', ...MEASURES.map(([, , t]) => t), 'Total'],
          nss.map((ns) => h('tr', { 'data-namespace': ns.namespace },
            h('th', { scope: 'row' }, ns.namespace),
            ...MEASURES.map(([, u]) => h('td', { class: ['num', Number(ns[u]) ? 'exposed' : ''], 'data-measure': u }, String(ns[u] ?? 0))),
            h('td', { class: 'num' }, String(exposureScore(ns)))))),
        nss.map((ns) => h('details', { class: 'workloads', open: nss.length <= 3 },
          h('summary', {}, `Namespace ${ns.namespace}: ${(ns.workloads || []).length} workloads`),
          table(null, ['Workload', ...MEASURES.map(([, , t]) => t)],
            (ns.workloads || []).map((w) => h('tr', { 'data-workload': `${ns.namespace}/${w.name}` },
              h('th', { scope: 'row' }, w.name), ...MEASURES.map(([m]) => cellOf(w[m]))))))));
    } catch (e) {
      replace(out, errorNotice(e, 'Exposure', 'the flow store (flowstore module)'));
    }
  }
  load();
  return { setNamespace() { load(); }, unmount() {} };
}
