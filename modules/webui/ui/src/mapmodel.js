// SPDX-License-Identifier: BSD-2-Clause
// mapmodel.js - the daemon's service map (GET /v1/map, docs/service-map.md)
// as the page draws it: workloads grouped by namespace, peers outside the
// cluster on their own, and one arrow per (source, destination) carrying
// every protocol/port seen between them, coloured like `bulwark map -o dot`:
// green only forwarded, red only dropped, orange both, dashed when audited.

export function portLabel(p) {
  if (p.protocol === 'ICMPv4' || p.protocol === 'ICMPv6' || !p.port) return p.protocol;
  return `${p.protocol}/${p.port}`;
}

export function verdictOf(forwarded, dropped) {
  if (dropped > 0 && forwarded > 0) return 'mixed';
  if (dropped > 0) return 'dropped';
  return 'forwarded';
}

export function nodeLabel(n) {
  if (n.kind === 'workload') return n.name;
  if (n.kind === 'cidr') return n.name;
  if (n.kind === 'world' && n.addresses && n.addresses.length) return 'world';
  return n.name || n.id;
}

// Policies (as {kind, namespace, name}) are equal by these three.
export function samePolicy(a, b) {
  return a && b && a.name === b.name && (a.namespace || '') === (b.namespace || '') && a.kind === b.kind;
}

export function buildModel(doc) {
  const nodes = new Map();
  for (const n of (doc && doc.nodes) || []) nodes.set(n.id, { ...n, label: nodeLabel(n) });
  const edges = new Map();
  for (const e of (doc && doc.edges) || []) {
    const id = `${e.source} -> ${e.destination}`;
    let m = edges.get(id);
    if (!m) {
      m = { id, source: e.source, destination: e.destination, ports: [], forwarded: 0, dropped: 0, audit: 0, policies: [] };
      edges.set(id, m);
    }
    m.ports.push(e);
    m.forwarded += e.forwarded || 0;
    m.dropped += e.dropped || 0;
    m.audit += e.audit || 0;
    for (const p of e.policies || []) {
      const have = m.policies.find((x) => samePolicy(x, p) && x.effect === p.effect);
      if (have) have.verdicts += p.verdicts || 0;
      else m.policies.push({ ...p });
    }
    // a node only an edge names (should not happen) still gets drawn
    for (const id2 of [e.source, e.destination]) {
      if (!nodes.has(id2)) nodes.set(id2, { id: id2, kind: 'address', name: id2, label: id2 });
    }
  }
  for (const m of edges.values()) {
    m.ports.sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);
    m.verdict = verdictOf(m.forwarded, m.dropped);
    m.label = m.ports.map(portLabel).join(', ');
  }
  const namespaces = new Map();
  const outside = [];
  for (const n of nodes.values()) {
    if (n.kind === 'workload' && n.namespace) {
      if (!namespaces.has(n.namespace)) namespaces.set(n.namespace, []);
      namespaces.get(n.namespace).push(n);
    } else {
      outside.push(n);
    }
  }
  return {
    nodes,
    edges,
    namespaces: [...namespaces.entries()].sort((a, b) => a[0].localeCompare(b[0])),
    outside,
  };
}

// A key that changes when the drawing's structure changes (not counts).
export function structureKey(model) {
  return [...model.nodes.keys()].sort().join('|') + '#' + [...model.edges.keys()].sort().join('|');
}

// What policy pol did to edge m: 'allow', 'deny' (a deny rule or default
// deny it causes), 'both', or null.
export function policyEffect(m, pol) {
  let allow = false;
  let deny = false;
  for (const p of m.policies) {
    if (!samePolicy(p, pol)) continue;
    if (p.effect === 'allow') allow = true;
    else deny = true;
  }
  if (allow && deny) return 'both';
  if (allow) return 'allow';
  if (deny) return 'deny';
  return null;
}

export function edgeDescription(m, nodes) {
  const name = (id) => (nodes.get(id) ? `${nodes.get(id).namespace ? nodes.get(id).namespace + '/' : ''}${nodes.get(id).label}` : id);
  return `${name(m.source)} to ${name(m.destination)}: ${m.label}; ${m.forwarded} forwarded, ${m.dropped} dropped${m.audit ? `, ${m.audit} audited` : ''}`;
}
