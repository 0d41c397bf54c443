// SPDX-License-Identifier: BSD-2-Clause
// adoption.js - the parts of the adoption views that are plain data: the
// talk's three exposure measures and the ranking of namespaces by them
// (GET /v1/exposure, docs/adoption.md), and the reading of a simulate
// reply (POST /v1/simulate).

// [per-workload field, per-namespace "unused" count, title]
export const MEASURES = [
  ['ingress_from_world', 'unused_ingress_from_world', 'Reachable from outside the cluster'],
  ['ingress_from_other_namespaces', 'unused_ingress_from_other_namespaces', 'Reachable from other namespaces'],
  ['egress_to_world', 'unused_egress_to_world', 'Can reach the outside'],
];

// How exposed a namespace is: its workloads allowed a path no traffic used.
export function exposureScore(ns) {
  return MEASURES.reduce((n, [, u]) => n + (Number(ns[u]) || 0), 0);
}

// Most exposed first, as `bulwark exposure` ranks them; ties by name.
export function rankNamespaces(doc) {
  return [...((doc && doc.namespaces) || [])].sort((a, b) => exposureScore(b) - exposureScore(a) || String(a.namespace).localeCompare(String(b.namespace)));
}

// One measure of one workload: {allowed, seen} -> what to say about it.
export function measureState(m) {
  if (!m || !m.allowed) return 'closed';
  return m.seen ? 'used' : 'exposed';
}

// A simulate reply -> counts and the two lists (absent lists are empty).
export function simulateSummary(r) {
  const dropped = (r && r.newly_dropped) || [];
  const allowed = (r && r.newly_allowed) || [];
  const sum = (l) => l.reduce((n, x) => n + (Number(x.count) || 0), 0);
  return { dropped, allowed, droppedFlows: sum(dropped), allowedFlows: sum(allowed), safe: dropped.length === 0 };
}
