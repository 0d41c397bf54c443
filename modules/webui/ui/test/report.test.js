// SPDX-License-Identifier: BSD-2-Clause
// The compliance report: coverage numbers, unprotected endpoints first,
// Markdown and HTML exports that escape what they quote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coverage, sortEndpoints, toMarkdown, toHTML } from '../src/report.js';

const doc = {
  endpoints: [
    { endpoint: 'shop/cart', ingress: { default_deny: true, mode: 'enforce', policies: ['NetworkPolicy shop/shop-default-deny'], denied: 12 },
      egress: { default_deny: true, mode: 'enforce', policies: ['CiliumNetworkPolicy shop/cart-to-payments'], denied: 3 } },
    { endpoint: 'ops/scanner', ingress: { default_deny: false, mode: 'none', policies: [], denied: 0 },
      egress: { default_deny: false, mode: 'none', policies: [], denied: 0 } },
    { endpoint: 'shop/frontend', ingress: { default_deny: true, mode: 'audit', policies: ['NetworkPolicy shop/shop-default-deny'], denied: 0 },
      egress: { default_deny: false, mode: 'none', policies: [], denied: 0 } },
  ],
};

test('coverage counts directions and endpoints', () => {
  assert.deepEqual(coverage(doc), { endpoints: 3, directions: 6, defaultDeny: 3, enforced: 2, fullyCovered: 1, percent: 50 });
  assert.deepEqual(coverage({ endpoints: [] }), { endpoints: 0, directions: 0, defaultDeny: 0, enforced: 0, fullyCovered: 0, percent: 0 });
});

test('the least protected endpoints come first', () => {
  assert.deepEqual(sortEndpoints(doc.endpoints).map((e) => e.endpoint), ['ops/scanner', 'shop/frontend', 'shop/cart']);
});

test('Markdown: a table row per endpoint, with policies and denies', () => {
  const md = toMarkdown(doc, { generated: '2026-12-01T00:00:00Z', node: 'node-1' });
  assert.match(md, /^# Default-deny compliance report/);
  assert.match(md, /directions with default deny: 3 of 6 \(50%\)/);
  assert.match(md, /\| shop\/cart \| yes \(enforce\) \| NetworkPolicy shop\/shop-default-deny \| 12 \| yes \(enforce\) \| CiliumNetworkPolicy shop\/cart-to-payments \| 3 \|/);
  assert.match(md, /\| ops\/scanner \| NO \(none\) \| - \| 0 \|/);
  assert.ok(md.indexOf('ops/scanner') < md.indexOf('shop/cart'));
});

test('staged policies and audits are in the report', () => {
  const d = { endpoints: [{ endpoint: 'z/a', ingress: { default_deny: false, mode: 'none', policies: [], denied: 0, audited: 2,
    staged: ['NetworkPolicy z/deny-ingress'], staged_default_deny: true }, egress: { default_deny: false } }] };
  assert.match(toMarkdown(d), /\| z\/a \| NO \(none\) \| NetworkPolicy z\/deny-ingress \(staged\) \| 0 \(\+2 audited\) \|/);
  assert.match(toHTML(d), /NetworkPolicy z\/deny-ingress \(staged\)/);
});

test('HTML: a self-contained page; names are escaped', () => {
  const html = toHTML({ endpoints: [{ endpoint: 'x/<script>', ingress: { default_deny: false }, egress: { default_deny: true, mode: 'enforce', policies: ['P "q"'], denied: 1 } }] });
  assert.match(html, /^<!DOCTYPE html>/);
  assert.doesNotMatch(html, /<script>/);
  assert.match(html, /x\/&lt;script&gt;/);
  assert.match(html, /P &quot;q&quot;/);
  assert.doesNotMatch(html, /<link|src=/);
});
