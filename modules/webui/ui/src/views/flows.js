// SPDX-License-Identifier: BSD-2-Clause
// views/flows.js - the flow table: the last flows that match hubble's
// filters (GET /v1/flows, the same request `bulwark observe` sends), new
// ones arriving live (/api/events with the same filters), and a detail
// pane for the selected flow with the policy behind its verdict - both what
// the flow recorded and what `bulwark policy trace` answers now.

import { h, replace, notice, clear } from '../dom.js';
import * as api from '../api.js';
import { buildFilters, describe, problems, EVENT_TYPES } from '../filters.js';
import { sides, typeName, verdictClass, summary, attribution, traceQuery, shortTime, l4Of } from '../flowfmt.js';
import { field } from './common.js';

const SIDES = [['either', 'either'], ['from', 'from'], ['to', 'to']];

function sideSelect(id, value) {
  return h('select', { id, class: 'side', 'aria-label': 'side' }, SIDES.map(([v, t]) => h('option', { value: v, selected: v === value }, t)));
}

function select(id, value, options) {
  return h('select', { id }, options.map(([v, t]) => h('option', { value: v, selected: v === value }, t)));
}

export function mountFlows(root, ctx) {
  const p = ctx.params;
  const state = {
    namespace: ctx.namespace,
    verdict: p.verdict || '',
    type: p.type || '',
    protocol: p.protocol || '',
    from_pod: p.from || '',
    to_pod: p.to || '',
    pod: { side: 'either', value: p.pod || '' },
    label: { side: p.label_side || 'either', value: p.label || '' },
    port: { side: p.port_side || 'to', value: p.port || '' },
    fqdn: { side: p.fqdn_side || 'to', value: p.fqdn || '' },
    http_method: p.http_method || '',
    http_path: p.http_path || '',
    http_status: p.http_status || '',
  };
  let number = Number(p.number) || 200;
  let flows = [];
  let selected = null;
  let live = true;
  let lost = 0;

  const inputs = {
    verdict: select('f-verdict', state.verdict, [['', 'any'], ['FORWARDED', 'forwarded'], ['DROPPED', 'dropped'], ['AUDIT', 'audit'], ['ERROR', 'error']]),
    type: select('f-type', state.type, [['', 'any'], ...Object.keys(EVENT_TYPES).map((t) => [t, t])]),
    protocol: select('f-protocol', state.protocol, [['', 'any'], ['tcp', 'TCP'], ['udp', 'UDP'], ['sctp', 'SCTP'], ['icmp', 'ICMP']]),
    from_pod: h('input', { id: 'f-from-pod', type: 'text', value: state.from_pod, placeholder: 'ns/pod', size: 14 }),
    to_pod: h('input', { id: 'f-to-pod', type: 'text', value: state.to_pod, placeholder: 'ns/pod', size: 14 }),
    pod: h('input', { id: 'f-pod', type: 'text', value: state.pod.value, placeholder: 'ns/pod', size: 14 }),
    label: h('input', { id: 'f-label', type: 'text', value: state.label.value, placeholder: 'app=web', size: 12 }),
    label_side: sideSelect('f-label-side', state.label.side),
    port: h('input', { id: 'f-port', type: 'text', inputmode: 'numeric', value: state.port.value, placeholder: '80', size: 5 }),
    port_side: sideSelect('f-port-side', state.port.side),
    fqdn: h('input', { id: 'f-fqdn', type: 'text', value: state.fqdn.value, placeholder: 'api.example', size: 14 }),
    fqdn_side: sideSelect('f-fqdn-side', state.fqdn.side),
    http_method: select('f-http-method', state.http_method, [['', 'any'], ...['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'].map((m) => [m, m])]),
    http_path: h('input', { id: 'f-http-path', type: 'text', value: state.http_path, placeholder: '^/api/', size: 10 }),
    http_status: h('input', { id: 'f-http-status', type: 'text', value: state.http_status, placeholder: '5+', size: 4 }),
    number: select('f-number', String(number), [['50', '50'], ['200', '200'], ['1000', '1000']]),
    live: h('input', { id: 'f-live', type: 'checkbox', checked: live }),
  };

  const message = h('div', { class: 'messages' });
  const count = h('span', { class: 'count', role: 'status', 'aria-live': 'polite' });
  const tbody = h('tbody', {});
  const detail = h('aside', { class: 'detail-panel', 'aria-label': 'Flow detail', tabindex: -1 },
    h('p', { class: 'hint' }, 'Select a flow (click, or focus a row and press Enter) to see the rule behind its verdict.'));

  const form = h('form', { class: 'filters', 'aria-label': 'Flow filters', onSubmit: (e) => { e.preventDefault(); apply(); } },
    h('div', { class: 'filter-row' },
      field('Verdict', inputs.verdict),
      field('Type', inputs.type),
      field('Protocol', inputs.protocol),
      field('From pod', inputs.from_pod),
      field('To pod', inputs.to_pod),
      field('Pod (either side)', inputs.pod),
      field('Label', h('span', { class: 'sided' }, inputs.label_side, inputs.label))),
    h('div', { class: 'filter-row' },
      field('Port', h('span', { class: 'sided' }, inputs.port_side, inputs.port)),
      field('FQDN', h('span', { class: 'sided' }, inputs.fqdn_side, inputs.fqdn)),
      field('HTTP method', inputs.http_method),
      field('HTTP path', inputs.http_path),
      field('HTTP status', inputs.http_status),
      field('Show', inputs.number),
      h('div', { class: 'field buttons' },
        h('button', { type: 'submit', class: 'primary' }, 'Apply'),
        h('button', { type: 'button', onClick: clearFilters }, 'Clear')),
      h('div', { class: 'field check' }, inputs.live, h('label', { for: 'f-live' }, 'Live'))));
  inputs.live.addEventListener('change', () => { live = inputs.live.checked; ctx.restartLive(); });

  const tableEl = h('table', { class: 'grid flows', 'aria-label': 'Flows' },
    h('thead', {}, h('tr', {}, ['Time', 'Source', 'Destination', 'Port', 'Type', 'Verdict', 'Summary'].map((c) => h('th', { scope: 'col' }, c)))),
    tbody);

  root.append(h('section', { class: 'view view-flows' },
    h('div', { class: 'toolbar' }, h('h1', {}, 'Flows'), count),
    form, message,
    h('div', { class: 'flows-body' }, h('div', { class: 'table-wrap' }, tableEl), detail)));

  function readForm() {
    state.verdict = inputs.verdict.value;
    state.type = inputs.type.value;
    state.protocol = inputs.protocol.value;
    state.from_pod = inputs.from_pod.value;
    state.to_pod = inputs.to_pod.value;
    state.pod = { side: 'either', value: inputs.pod.value };
    state.label = { side: inputs.label_side.value, value: inputs.label.value };
    state.port = { side: inputs.port_side.value, value: inputs.port.value };
    state.fqdn = { side: inputs.fqdn_side.value, value: inputs.fqdn.value };
    state.http_method = inputs.http_method.value;
    state.http_path = inputs.http_path.value;
    state.http_status = inputs.http_status.value;
    number = Number(inputs.number.value) || 200;
  }

  function clearFilters() {
    for (const k of ['from_pod', 'to_pod', 'pod', 'label', 'port', 'fqdn', 'http_path', 'http_status']) inputs[k].value = '';
    for (const k of ['verdict', 'type', 'protocol', 'http_method']) inputs[k].value = '';
    apply();
  }

  function row(resp) {
    const f = resp.flow;
    const sd = sides(f);
    const tr = h('tr', { tabindex: 0, class: verdictClass(f.verdict), 'data-verdict': f.verdict, 'data-source': sd.source, 'data-destination': sd.destination, 'aria-selected': 'false' },
      h('td', { class: 'time' }, shortTime(f.time)),
      h('td', {}, sd.source + (sd.sourcePort ? `:${sd.sourcePort}` : '')),
      h('td', {}, sd.destination),
      h('td', { class: 'num' }, sd.destinationPort ? `${sd.destinationPort}/${sd.proto}` : sd.proto),
      h('td', {}, typeName(f)),
      h('td', {}, h('span', { class: ['verdict', verdictClass(f.verdict)] }, f.verdict || '')),
      h('td', { class: 'summary' }, summary(f)));
    tr.addEventListener('click', () => pick(resp, tr));
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); pick(resp, tr); }
      else if (e.key === 'ArrowDown' && tr.nextElementSibling) { e.preventDefault(); tr.nextElementSibling.focus(); }
      else if (e.key === 'ArrowUp' && tr.previousElementSibling) { e.preventDefault(); tr.previousElementSibling.focus(); }
    });
    resp.row = tr;
    return tr;
  }

  function renderCount() {
    count.textContent = `${flows.length} flow${flows.length === 1 ? '' : 's'}${describe(state) ? ' matching ' + describe(state) : ''}${live ? ' · live' : ''}${lost ? ` · ${lost} missed (slow client)` : ''}`;
  }

  function render() {
    clear(tbody);
    for (const f of flows) tbody.appendChild(row(f));
    renderCount();
  }

  async function load() {
    const bad = problems(state);
    if (bad.length) {
      replace(message, notice('error', bad.join('; ')));
      return;
    }
    replace(message);
    const filters = buildFilters(state);
    try {
      const lines = await api.getLines('/v1/flows' + api.query({ number, whitelist: filters.whitelist.length ? filters.whitelist : undefined }));
      flows = lines.filter((l) => l.flow).reverse(); // newest first
      const lostLines = lines.filter((l) => l.lost_events);
      if (lostLines.length) replace(message, notice('info', `${lostLines.length} lost-events notice(s) in the ring: the daemon dropped events.`));
      selected = null;
      render();
    } catch (e) {
      flows = [];
      render();
      const unknown = /unknown field|FlowFilter has no field|not a FlowFilter field|'(source|destination)_fqdn'|http_/i.test(e.message);
      replace(message, notice('error', h('strong', {}, 'The daemon refused these filters: '), e.message,
        unknown ? ' (this daemon does not filter on that field yet: FQDN and HTTP fields come with the DNS and L7 proxies)' : ''));
    }
  }

  function apply() {
    readForm();
    ctx.setParams({
      verdict: state.verdict, type: state.type, protocol: state.protocol, from: state.from_pod, to: state.to_pod,
      pod: state.pod.value, label: state.label.value, label_side: state.label.side !== 'either' ? state.label.side : '',
      port: state.port.value, port_side: state.port.side !== 'to' ? state.port.side : '', fqdn: state.fqdn.value,
      fqdn_side: state.fqdn.side !== 'to' ? state.fqdn.side : '',
      http_method: state.http_method, http_path: state.http_path, http_status: state.http_status,
      number: number !== 200 ? number : '',
    });
    load();
    ctx.restartLive();
  }

  async function pick(resp, tr) {
    selected = resp;
    for (const r of tbody.children) r.setAttribute('aria-selected', r === tr ? 'true' : 'false');
    const f = resp.flow;
    const sd = sides(f);
    const att = attribution(f);
    const traceBox = h('div', { class: 'trace', 'aria-live': 'polite' }, h('p', { class: 'loading' }, 'Asking policy trace…'));
    replace(detail,
      h('h2', {}, `${sd.source} → ${sd.destination}`),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Verdict'), h('dd', {}, h('span', { class: ['verdict', verdictClass(f.verdict)] }, f.verdict || ''),
          f.drop_reason_desc ? ` (${f.drop_reason_desc})` : ''),
        h('dt', {}, 'Type'), h('dd', {}, typeName(f)),
        h('dt', {}, 'Connection'), h('dd', {}, `${sd.proto}${sd.destinationPort ? ' port ' + sd.destinationPort : ''}${f.is_reply ? ' (reply)' : ''}${f.traffic_direction ? ', ' + f.traffic_direction.toLowerCase() : ''}`),
        h('dt', {}, 'Summary'), h('dd', {}, summary(f)),
        h('dt', {}, 'Time'), h('dd', {}, f.time || '')),
      h('h3', {}, 'Policy recorded with the flow'),
      att.length
        ? h('ul', { class: 'policies attribution' }, att.map((a) => h('li', {}, `${a.direction} ${a.role} `, h('strong', {}, a.text))))
        : h('p', {}, (f.event_type || {}).type === 5 || (f.event_type || {}).type === 1
          ? 'No policy named: the direction is not enforced, or no policy selects it.'
          : 'Traces carry no verdict of their own; see the policy verdict of the connection, or the trace below.'),
      h('h3', {}, 'Rule behind the verdict now (policy trace)'),
      traceBox,
      h('details', { class: 'labels-box' }, h('summary', {}, 'Labels'),
        h('dl', { class: 'facts' },
          h('dt', {}, 'Source'), h('dd', { class: 'labels' }, ((f.source && f.source.labels) || []).join(' ') || '-'),
          h('dt', {}, 'Destination'), h('dd', { class: 'labels' }, ((f.destination && f.destination.labels) || []).join(' ') || '-'))));
    const q = traceQuery(f);
    if (q.why) {
      replace(traceBox, h('p', {}, `Nothing to trace: ${q.why}.`));
      return;
    }
    try {
      const t = await api.get('/v1/policy/trace' + api.query(q));
      if (selected !== resp) return;
      replace(traceBox,
        h('p', {}, h('code', {}, `bulwark policy trace --from ${q.from} --to ${q.to} --port ${q.port} --protocol ${q.protocol}`)),
        h('p', { class: 'trace-verdict' }, 'Verdict: ', h('span', { class: ['verdict', verdictClass(t.verdict === 'ALLOWED' ? 'FORWARDED' : t.verdict === 'DENIED' ? 'DROPPED' : t.verdict)] }, t.verdict)),
        h('ol', { class: 'trace-steps' }, (t.steps || []).map((st) => h('li', { 'data-verdict': st.verdict },
          h('strong', {}, `${st.direction} at ${st.endpoint}: ${st.verdict}`), h('br', {}),
          st.reason || '',
          st.policy && st.policy.name ? h('div', { class: 'policy-name' }, `Policy: ${st.policy.kind} ${st.policy.namespace ? st.policy.namespace + '/' : ''}${st.policy.name} (rule ${st.policy.rule_index})`) : null))));
    } catch (e) {
      if (selected !== resp) return;
      replace(traceBox, notice('error', `policy trace: ${e.message}`));
    }
  }

  function onFlow(resp) {
    if (!live || !resp.flow) return;
    flows.unshift(resp);
    tbody.insertBefore(row(resp), tbody.firstChild);
    while (flows.length > number) {
      const old = flows.pop();
      if (old.row) old.row.remove();
    }
    renderCount();
  }

  load();
  return {
    setNamespace(ns) { state.namespace = ns; load(); ctx.restartLive(); },
    liveFilters: () => (live && !problems(state).length ? buildFilters(state) : null),
    onFlow,
    onLost(n) { lost += n; renderCount(); },
    unmount() {},
  };
}

export { l4Of };
