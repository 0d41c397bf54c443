// SPDX-License-Identifier: BSD-2-Clause
// The adoption views' data, on the shapes issues 11 and 12 fix
// (docs/adoption.md): exposure ranking and states, simulate summaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposureScore, rankNamespaces, measureState, simulateSummary } from '../src/adoption.js';

const exposure = {
  namespaces: [
    { namespace: 'shop', unused_ingress_from_world: 0, unused_ingress_from_other_namespaces: 1, unused_egress_to_world: 1,
      workloads: [{ name: 'cart', ingress_from_world: { allowed: false, seen: false },
        ingress_from_other_namespaces: { allowed: true, seen: false }, egress_to_world: { allowed: true, seen: true } }] },
    { namespace: 'ops', unused_ingress_from_world: 1, unused_ingress_from_other_namespaces: 1, unused_egress_to_world: 1, workloads: [] },
    { namespace: 'db', unused_ingress_from_world: 0, unused_ingress_from_other_namespaces: 0, unused_egress_to_world: 0, workloads: [] },
    { namespace: 'api', unused_ingress_from_world: 2, unused_ingress_from_other_namespaces: 0, unused_egress_to_world: 0, workloads: [] },
  ],
};

test('namespaces ranked by unused exposure, ties by name', () => {
  assert.deepEqual(rankNamespaces(exposure).map((n) => [n.namespace, exposureScore(n)]), [['ops', 3], ['api', 2], ['shop', 2], ['db', 0]]);
  assert.deepEqual(rankNamespaces({}), []);
});

test('a measure is exposed when allowed and unused', () => {
  const w = exposure.namespaces[0].workloads[0];
  assert.equal(measureState(w.ingress_from_world), 'closed');
  assert.equal(measureState(w.ingress_from_other_namespaces), 'exposed');
  assert.equal(measureState(w.egress_to_world), 'used');
  assert.equal(measureState(undefined), 'closed');
});

test('a simulate reply: what would break, what would open', () => {
  const r = simulateSummary({
    newly_dropped: [{ source: 'shop/frontend', destination: 'shop/cart', port: 8080, protocol: 'TCP', count: 40, last_seen: '2026-12-01T00:00:00Z' }],
    newly_allowed: [],
  });
  assert.equal(r.safe, false);
  assert.equal(r.droppedFlows, 40);
  assert.equal(r.allowed.length, 0);
  assert.equal(simulateSummary({}).safe, true);
});
