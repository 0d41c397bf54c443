// SPDX-License-Identifier: BSD-2-Clause
// flowfmt.js - reading Hubble flow records (GetFlowsResponse.flow, the
// JSON `bulwark observe -o json` prints, docs/flows.md) for display, and
// the `policy trace` question a flow asks.

const RESERVED = ['host', 'world', 'unmanaged', 'health', 'init', 'remote-node', 'kube-apiserver', 'ingress', 'world-ipv4', 'world-ipv6'];

export function l4Of(flow) {
  const l4 = flow.l4 || {};
  for (const p of ['TCP', 'UDP', 'SCTP']) {
    if (l4[p]) return { proto: p, sport: l4[p].source_port || 0, dport: l4[p].destination_port || 0, l4: l4[p] };
  }
  if (l4.ICMPv4) return { proto: 'ICMPv4', sport: 0, dport: l4.ICMPv4.type || 0, l4: l4.ICMPv4 };
  if (l4.ICMPv6) return { proto: 'ICMPv6', sport: 0, dport: l4.ICMPv6.type || 0, l4: l4.ICMPv6 };
  return { proto: '', sport: 0, dport: 0, l4: {} };
}

// "ns/pod", a reserved or CIDR name, or the address.
export function endpointName(ep, ip) {
  ep = ep || {};
  if (ep.pod_name) return `${ep.namespace || ''}/${ep.pod_name}`;
  const labels = ep.labels || [];
  const cidr = labels.find((l) => l.startsWith('cidr:'));
  if (cidr) return ip || cidr.slice(5);
  for (const r of RESERVED) {
    if (labels.includes('reserved:' + r)) return ip ? `${ip} (${r})` : r;
  }
  return ip || (ep.identity ? `identity ${ep.identity}` : 'unknown');
}

export function sides(flow) {
  const ip = flow.IP || {};
  const { sport, dport, proto } = l4Of(flow);
  const isPort = proto === 'TCP' || proto === 'UDP' || proto === 'SCTP';
  return {
    source: endpointName(flow.source, ip.source),
    destination: endpointName(flow.destination, ip.destination),
    sourcePort: isPort ? sport : null,
    destinationPort: isPort ? dport : null,
    proto,
  };
}

const OBS = { TO_ENDPOINT: 'to-endpoint', FROM_ENDPOINT: 'from-endpoint' };

export function typeName(flow) {
  const t = (flow.event_type || {}).type;
  if (t === 1) return 'drop';
  if (t === 5) return 'policy-verdict';
  if (t === 129 || flow.Type === 'L7') return 'l7';
  if (t === 4) return OBS[flow.trace_observation_point] || 'trace';
  return t !== undefined ? `type ${t}` : '';
}

export function verdictClass(v) {
  if (v === 'FORWARDED') return 'verdict-forwarded';
  if (v === 'DROPPED' || v === 'ERROR') return 'verdict-dropped';
  if (v === 'AUDIT') return 'verdict-audit';
  return 'verdict-other';
}

export function summary(flow) {
  if (flow.Summary) return flow.Summary;
  if (flow.drop_reason_desc) return flow.drop_reason_desc;
  const { proto, l4 } = l4Of(flow);
  if (proto === 'TCP' && l4.flags) return 'TCP Flags: ' + Object.keys(l4.flags).join(', ');
  return proto;
}

function polName(p) {
  return `${p.kind || 'Policy'} ${p.namespace ? p.namespace + '/' : ''}${p.name}`;
}

// What the flow itself says about the policies behind its verdict.
export function attribution(flow) {
  const out = [];
  const add = (role, dir, list) => (list || []).forEach((p) => out.push({ role, direction: dir, policy: p, text: polName(p) }));
  add('allowed by', 'ingress', flow.ingress_allowed_by);
  add('allowed by', 'egress', flow.egress_allowed_by);
  add('denied by', 'ingress', flow.ingress_denied_by);
  add('denied by', 'egress', flow.egress_denied_by);
  const ext = flow.extensions || {};
  add('default deny; isolated by', (flow.traffic_direction || '').toLowerCase(), ext.isolated_by);
  return out;
}

function peer(ep, ip) {
  if (ep && ep.pod_name) return `${ep.namespace || ''}/${ep.pod_name}`;
  return ip || null;
}

// The `bulwark policy trace` parameters for a flow, in its connection's
// direction (a reply is traced as the connection that it answers), or
// {why} when there is nothing to trace.
export function traceQuery(flow) {
  const ip = flow.IP || {};
  const { proto, sport, dport } = l4Of(flow);
  if (!proto) return { why: 'the flow has no layer-4 protocol to trace' };
  let from = peer(flow.source, ip.source);
  let to = peer(flow.destination, ip.destination);
  let port = dport;
  if (flow.is_reply === true) {
    [from, to] = [to, from];
    port = sport;
  }
  if (!from || !to) return { why: 'the flow lacks an address' };
  const protocol = proto === 'ICMPv4' ? 'ICMP' : proto;
  return { from, to, port, protocol };
}

export function shortTime(t) {
  if (!t) return '';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return t;
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
