// SPDX-License-Identifier: BSD-2-Clause
// views/recommend.js - policy recommendation from observed traffic
// (GET /v1/recommend), its what-if replay against history
// (POST /v1/simulate, the candidate in the body), and the rules whose
// allowed space far exceeds their use (GET /v1/broad-rules); shapes in
// docs/adoption.md. The YAML can be edited before it is simulated, and
// imported when [webui] allow_changes is set.

import { h, replace, notice, table, download } from '../dom.js';
import * as api from '../api.js';
import { dump } from 'js-yaml';
import { errorNotice, field, loading } from './common.js';
import { simulateSummary } from '../adoption.js';

// The YAML of a recommend reply, whatever its wrapping.
export function recommendationYAML(doc) {
  if (typeof doc === 'string') return doc;
  if (doc && typeof doc.yaml === 'string') return doc.yaml;
  const list = Array.isArray(doc) ? doc : doc && Array.isArray(doc.policies) ? doc.policies : null;
  if (list) return list.map((p) => (typeof p === 'string' ? p : dump(p, { noRefs: true, lineWidth: 100 }))).join('---\n');
  return dump(doc, { noRefs: true, lineWidth: 100 });
}

function flowRows(list) {
  return (list || []).map((r) => h('tr', {},
    h('td', {}, r.source), h('td', {}, r.destination), h('td', {}, `${r.protocol || ''}${r.port ? '/' + r.port : ''}`),
    h('td', { class: 'num' }, String(r.count ?? '')), h('td', {}, r.last_seen || '')));
}

export function mountRecommend(root, ctx) {
  const mode = h('select', { id: 'rec-mode' }, h('option', { value: 'coarse' }, 'coarse (per namespace)'), h('option', { value: 'fine' }, 'fine (per workload)'));
  const since = h('select', { id: 'rec-since' }, [['24h', '24 hours'], ['168h', '7 days'], ['1h', '1 hour'], ['', 'all history']].map(([v, t]) => h('option', { value: v }, t)));
  const replaceBox = h('input', { id: 'sim-replace', type: 'checkbox' });
  const yaml = h('textarea', { id: 'rec-yaml', class: 'yaml', rows: 18, spellcheck: 'false', 'aria-label': 'Recommended policies (YAML)', placeholder: 'The recommended policies appear here. You can also paste policies of your own to simulate them.' });
  const recOut = h('div', { 'aria-live': 'polite' });
  const simOut = h('div', { class: 'simulate-result', 'aria-live': 'polite' });
  const broadOut = h('div', {});
  const simBtn = h('button', { type: 'button', onClick: simulate, disabled: true }, 'Simulate against history');
  const importBtn = ctx.ui.allow_changes ? h('button', { type: 'button', class: 'danger', onClick: importIt, disabled: true }, 'Import these policies') : null;
  yaml.addEventListener('input', () => { simBtn.disabled = !yaml.value.trim(); if (importBtn) importBtn.disabled = !yaml.value.trim(); });

  root.append(h('section', { class: 'view view-recommend' },
    h('div', { class: 'toolbar' }, h('h1', {}, 'Recommend')),
    h('p', { class: 'intro' }, 'Policies that keep every connection seen working: a baseline (default deny, allow within each namespace, shared services) and per-namespace rules. Simulate them against history before importing.'),
    h('div', { class: 'recommend-body' },
      h('div', { class: 'recommend-left' },
        h('form', { class: 'filters', onSubmit: (e) => { e.preventDefault(); recommend(); } },
          h('div', { class: 'filter-row' },
            h('p', { class: 'field' }, h('span', { class: 'label' }, 'Namespaces'), h('span', {}, ctx.namespace || 'every namespace with endpoints')),
            field('Mode', mode), field('History', since),
            h('div', { class: 'field buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Recommend')))),
        recOut, yaml,
        h('div', { class: 'buttons' }, simBtn, h('span', { class: 'check' }, replaceBox, h('label', { for: 'sim-replace' }, 'instead of the current policies (--replace)')),
          h('button', { type: 'button', onClick: () => download('bulwark-recommended.yaml', 'application/yaml', yaml.value) }, 'Download YAML'), importBtn)),
      h('div', { class: 'recommend-right' }, h('h2', {}, 'What-if'), simOut, h('h2', {}, 'Broad rules'), broadOut))));

  async function recommend() {
    replace(recOut, loading('a recommendation'));
    try {
      const doc = await api.get('/v1/recommend' + api.query({ namespace: ctx.namespace || undefined, mode: mode.value, since: since.value || undefined }));
      yaml.value = recommendationYAML(doc);
      simBtn.disabled = !yaml.value.trim();
      if (importBtn) importBtn.disabled = simBtn.disabled;
      const uncovered = doc && (doc.uncovered || doc.not_covered);
      replace(recOut, uncovered && uncovered.length ? notice('info', `Not covered: ${uncovered.map((u) => (typeof u === 'string' ? u : JSON.stringify(u))).join('; ')}`) : null);
    } catch (e) {
      replace(recOut, errorNotice(e, 'Recommendation', 'the advisor (recommend, simulate, broad-rules)'));
    }
  }

  async function simulate() {
    replace(simOut, loading('the simulation'));
    try {
      const r = await api.send('POST', '/v1/simulate' + api.query({ replace: replaceBox.checked ? 'true' : undefined, since: since.value || undefined }), yaml.value);
      const { dropped, allowed } = simulateSummary(r);
      replace(simOut,
        h('p', { class: 'summary', 'data-testid': 'simulate-summary' },
          h('strong', { class: dropped.length ? 'no' : 'yes' }, `${dropped.length} connection${dropped.length === 1 ? '' : 's'} seen would be dropped`),
          `, ${allowed.length} now dropped would be allowed.`),
        dropped.length ? table('Newly dropped', ['Source', 'Destination', 'Port', 'Count', 'Last seen'], flowRows(dropped)) : null,
        allowed.length ? table('Newly allowed', ['Source', 'Destination', 'Port', 'Count', 'Last seen'], flowRows(allowed)) : null);
    } catch (e) {
      replace(simOut, errorNotice(e, 'Simulation', 'the advisor (recommend, simulate, broad-rules)'));
    }
  }

  async function importIt() {
    if (!window.confirm('Import these policies into the daemon? They are enforced at once.')) return;
    try {
      const r = await api.send('POST', '/v1/policies' + api.query({ source: 'webui' }), yaml.value);
      replace(simOut, notice('info', `Imported: ${r.changed} changed, ${r.total} policies in all.`));
    } catch (e) {
      replace(simOut, errorNotice(e, 'Import'));
    }
  }

  async function broad() {
    replace(broadOut, loading('broad rules'));
    try {
      const doc = await api.get('/v1/broad-rules' + api.query({ since: since.value || undefined }));
      const rules = doc.rules || [];
      replace(broadOut, rules.length
        ? rules.map((r) => h('details', { class: 'broad-rule' },
          h('summary', {}, `${r.policy} ${r.rule}: allows ${r.allowed}`),
          h('p', {}, `Used by: ${(r.used_by || []).map((u) => (typeof u === 'string' ? u : JSON.stringify(u))).join(', ') || 'nothing'}`),
          r.suggestion ? h('pre', { class: 'yaml' }, r.suggestion) : null))
        : h('p', {}, 'No rule allows far more than it is used for.'));
    } catch (e) {
      replace(broadOut, errorNotice(e, 'Broad rules', 'the advisor (recommend, simulate, broad-rules)'));
    }
  }
  replace(simOut, h('p', { class: 'hint' }, 'Recommend (or paste) policies, then simulate them: the replay lists the connections seen in history that they would drop.'));
  broad();
  return { setNamespace() { replace(recOut); }, unmount() {} };
}
