// SPDX-License-Identifier: BSD-2-Clause
// Reading flows: names of both sides, the policies a verdict names, and
// the policy trace a flow asks for (a reply is traced as its connection).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sides, attribution, traceQuery, typeName } from '../src/flowfmt.js';

const denied = {
  verdict: 'DROPPED', IP: { source: '10.2.0.10', destination: '10.1.0.20' },
  l4: { TCP: { source_port: 41000, destination_port: 8080, flags: { SYN: true } } },
  source: { namespace: 'ops', pod_name: 'scanner', identity: 259 },
  destination: { namespace: 'shop', pod_name: 'cart', identity: 257 },
  event_type: { type: 5 }, traffic_direction: 'INGRESS', is_reply: false,
  extensions: { isolated_by: [{ name: 'shop-default-deny', namespace: 'shop', kind: 'NetworkPolicy' }] },
};

test('both sides by pod, ports for TCP', () => {
  assert.deepEqual(sides(denied), { source: 'ops/scanner', destination: 'shop/cart', sourcePort: 41000, destinationPort: 8080, proto: 'TCP' });
  assert.equal(typeName(denied), 'policy-verdict');
});

test('peers outside the cluster by address', () => {
  const f = { IP: { source: '10.1.0.30', destination: '192.0.2.10' }, l4: { ICMPv4: { type: 8 } },
    source: { namespace: 'shop', pod_name: 'payments' }, destination: { labels: ['cidr:192.0.2.10/32', 'reserved:world'] } };
  assert.equal(sides(f).destination, '192.0.2.10');
  assert.equal(sides(f).destinationPort, null);
  const w = { IP: { destination: '198.51.100.1' }, destination: { labels: ['reserved:world'] } };
  assert.equal(sides(w).destination, '198.51.100.1 (world)');
});

test('a default-deny drop names the isolating policy', () => {
  assert.deepEqual(attribution(denied).map((a) => `${a.role} ${a.text}`), ['default deny; isolated by NetworkPolicy shop/shop-default-deny']);
  const allowed = { ingress_allowed_by: [{ name: 'frontend-to-cart', namespace: 'shop', kind: 'NetworkPolicy' }] };
  assert.deepEqual(attribution(allowed).map((a) => `${a.direction} ${a.role} ${a.text}`), ['ingress allowed by NetworkPolicy shop/frontend-to-cart']);
});

test('the trace of a flow, and of a reply (its connection)', () => {
  assert.deepEqual(traceQuery(denied), { from: 'ops/scanner', to: 'shop/cart', port: 8080, protocol: 'TCP' });
  const reply = { ...denied, is_reply: true, source: denied.destination, destination: denied.source,
    l4: { TCP: { source_port: 8080, destination_port: 41000 } } };
  assert.deepEqual(traceQuery(reply), { from: 'ops/scanner', to: 'shop/cart', port: 8080, protocol: 'TCP' });
  const icmp = { IP: { source: '10.1.0.30', destination: '192.0.2.10' }, l4: { ICMPv4: { type: 8 } }, source: { namespace: 'shop', pod_name: 'payments' } };
  assert.deepEqual(traceQuery(icmp), { from: 'shop/payments', to: '192.0.2.10', port: 8, protocol: 'ICMP' });
  assert.ok(traceQuery({}).why);
});
