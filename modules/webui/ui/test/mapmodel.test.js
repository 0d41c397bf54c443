// SPDX-License-Identifier: BSD-2-Clause
// The service map document becomes one arrow per pair, coloured by what
// happened, grouped by namespace; a policy's edges are found by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildModel, structureKey, policyEffect, verdictOf, portLabel } from '../src/mapmodel.js';

const doc = {
  nodes: [
    { id: 'x/a', kind: 'workload', namespace: 'x', name: 'a' },
    { id: 'x/b', kind: 'workload', namespace: 'x', name: 'b' },
    { id: 'y/c', kind: 'workload', namespace: 'y', name: 'c' },
    { id: 'world', kind: 'world', name: 'world', addresses: ['192.0.2.10'] },
  ],
  edges: [
    { source: 'x/b', destination: 'x/a', protocol: 'TCP', port: 80, forwarded: 4, dropped: 0, audit: 0,
      policies: [{ kind: 'CiliumNetworkPolicy', namespace: 'x', name: 'web', effect: 'allow', verdicts: 4 }] },
    { source: 'x/b', destination: 'x/a', protocol: 'UDP', port: 5353, forwarded: 2, dropped: 1, audit: 0,
      policies: [{ kind: 'CiliumNetworkPolicy', namespace: 'x', name: 'web', effect: 'default-deny', verdicts: 1 }] },
    { source: 'y/c', destination: 'x/a', protocol: 'TCP', port: 80, forwarded: 0, dropped: 3, audit: 0 },
    { source: 'x/b', destination: 'world', protocol: 'ICMPv4', port: 0, forwarded: 1, dropped: 0, audit: 1 },
  ],
};

test('one arrow per (source, destination), ports merged and sorted', () => {
  const m = buildModel(doc);
  assert.equal(m.edges.size, 3);
  const ba = m.edges.get('x/b -> x/a');
  assert.equal(ba.label, 'TCP/80, UDP/5353');
  assert.equal(ba.forwarded, 6);
  assert.equal(ba.dropped, 1);
  assert.equal(ba.verdict, 'mixed');
  assert.equal(m.edges.get('y/c -> x/a').verdict, 'dropped');
  assert.equal(m.edges.get('x/b -> world').verdict, 'forwarded');
  assert.equal(m.edges.get('x/b -> world').label, 'ICMPv4');
});

test('workloads are grouped by namespace; other peers stand alone', () => {
  const m = buildModel(doc);
  assert.deepEqual(m.namespaces.map(([ns, nodes]) => [ns, nodes.map((n) => n.label).sort()]), [['x', ['a', 'b']], ['y', ['c']]]);
  assert.deepEqual(m.outside.map((n) => n.id), ['world']);
});

test("a policy's effect on an arrow: allow, deny (its default deny), both, none", () => {
  const m = buildModel(doc);
  const web = { kind: 'CiliumNetworkPolicy', namespace: 'x', name: 'web' };
  assert.equal(policyEffect(m.edges.get('x/b -> x/a'), web), 'both');
  assert.equal(policyEffect(m.edges.get('y/c -> x/a'), web), null);
  assert.equal(policyEffect(m.edges.get('x/b -> x/a'), { ...web, kind: 'NetworkPolicy' }), null);
});

test('the structure key ignores counts', () => {
  const a = structureKey(buildModel(doc));
  const more = JSON.parse(JSON.stringify(doc));
  more.edges[0].forwarded = 99;
  assert.equal(structureKey(buildModel(more)), a);
  more.edges.push({ source: 'y/c', destination: 'world', protocol: 'TCP', port: 443, forwarded: 1, dropped: 0, audit: 0 });
  assert.notEqual(structureKey(buildModel(more)), a);
});

test('colours and labels follow bulwark map -o dot', () => {
  assert.equal(verdictOf(1, 0), 'forwarded');
  assert.equal(verdictOf(0, 1), 'dropped');
  assert.equal(verdictOf(1, 1), 'mixed');
  assert.equal(portLabel({ protocol: 'TCP', port: 443 }), 'TCP/443');
  assert.equal(portLabel({ protocol: 'ICMPv6', port: 0 }), 'ICMPv6');
});
