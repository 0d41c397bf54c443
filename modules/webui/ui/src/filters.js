// SPDX-License-Identifier: BSD-2-Clause
// filters.js - the flow table's filter fields as Hubble FlowFilter lists,
// built the way `hubble observe` (and `bulwark observe`) builds them from
// flags, so that the daemon applies exactly hubble's semantics:
//  - a field on one side ("from"/"to") is a source_*/destination_* field;
//  - fields on "either" side make two filters, one with every such field as
//    source_*, one with every such field as destination_* (OR);
//  - the other fields (verdict, protocol, type, HTTP) go into each filter.

export const EVENT_TYPES = {
  drop: 1,
  trace: 4,
  'policy-verdict': 5,
  l7: 129,
};

const SIDED = {
  // UI field -> [source key, destination key, value mapper]
  pod: ['source_pod', 'destination_pod', (v, ns) => (v.includes('/') ? v : `${ns || ''}/${v}`)],
  label: ['source_label', 'destination_label', (v) => v],
  port: ['source_port', 'destination_port', (v) => String(v)],
  fqdn: ['source_fqdn', 'destination_fqdn', (v) => v],
  ip: ['source_ip', 'destination_ip', (v) => v],
};

function trimmed(v) {
  return v === undefined || v === null ? '' : String(v).trim();
}

// Check the values a person typed; returns a list of problems (strings).
export function problems(f) {
  const out = [];
  const port = trimmed(f.port && f.port.value);
  if (port !== '' && !/^\d+$/.test(port)) out.push(`port: '${port}' is not a number`);
  else if (port !== '' && (Number(port) < 1 || Number(port) > 65535)) out.push(`port: ${port} is not 1..65535`);
  const st = trimmed(f.http_status);
  if (st !== '' && !/^[1-5](\d\d|\+)$/.test(st)) out.push(`HTTP status: '${st}' is not a code such as 404 or a class such as 5+`);
  return out;
}

// The filter state -> {whitelist: [...]} (an empty list: every flow).
// state: {namespace, verdict, protocol, type, http_method, http_path,
//         http_status, from_pod, to_pod,
//         pod|label|port|fqdn|ip: {side: 'either'|'from'|'to', value}}
// A pod without "NS/" is looked for in the chosen namespace, or in every
// namespace when none is chosen ("/POD").
export function buildFilters(state) {
  const common = {};
  const from = {};
  const to = {};
  const either = [];
  const ns = trimmed(state.namespace);

  const verdict = trimmed(state.verdict);
  if (verdict) common.verdict = [verdict];
  const proto = trimmed(state.protocol);
  if (proto) common.protocol = [proto.toLowerCase()];
  const type = trimmed(state.type);
  if (type && EVENT_TYPES[type] !== undefined) common.event_type = [{ type: EVENT_TYPES[type] }];
  const method = trimmed(state.http_method);
  if (method) common.http_method = [method.toUpperCase()];
  const path = trimmed(state.http_path);
  if (path) common.http_path = [path];
  const status = trimmed(state.http_status);
  if (status) common.http_status_code = [status];

  let nsUsed = false;
  const podValue = (v) => SIDED.pod[2](v, ns);
  const fromPod = trimmed(state.from_pod);
  const toPod = trimmed(state.to_pod);
  if (fromPod) { from.source_pod = [podValue(fromPod)]; nsUsed = true; }
  if (toPod) { to.destination_pod = [podValue(toPod)]; nsUsed = true; }
  for (const [field, [src, dst, map]] of Object.entries(SIDED)) {
    const f = state[field];
    const v = trimmed(f && f.value);
    if (!v) continue;
    const value = map(v, ns);
    if (field === 'pod') nsUsed = true;
    const side = (f && f.side) || 'either';
    if (side === 'from') from[src] = [value];
    else if (side === 'to') to[dst] = [value];
    else either.push([src, dst, value]);
  }
  // The namespace picker: pods of NS on either side, unless a pod
  // field already says which namespace.
  if (ns && !nsUsed) either.push(['source_pod', 'destination_pod', `${ns}/`]);

  const base = { ...from, ...to, ...common };
  if (either.length === 0) {
    return { whitelist: Object.keys(base).length ? [base] : [] };
  }
  const a = { ...base };
  const b = { ...base };
  for (const [src, dst, value] of either) {
    a[src] = [value];
    b[dst] = [value];
  }
  return { whitelist: [a, b] };
}

// A human line for the active filters ("verdict DROPPED, pod x/ either side").
export function describe(state) {
  const parts = [];
  if (trimmed(state.verdict)) parts.push(`verdict ${state.verdict}`);
  if (trimmed(state.from_pod)) parts.push(`from ${state.from_pod}`);
  if (trimmed(state.to_pod)) parts.push(`to ${state.to_pod}`);
  for (const field of Object.keys(SIDED)) {
    const f = state[field];
    const v = trimmed(f && f.value);
    if (v) parts.push(`${field} ${v}${f.side && f.side !== 'either' ? ` (${f.side})` : ''}`);
  }
  for (const k of ['protocol', 'type', 'http_method', 'http_path', 'http_status']) {
    if (trimmed(state[k])) parts.push(`${k.replace('_', ' ')} ${state[k]}`);
  }
  return parts.join(', ');
}
