// SPDX-License-Identifier: BSD-2-Clause
// The flow table's filters become hubble's FlowFilter lists, as
// `hubble observe` builds them from its flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFilters, problems, describe } from '../src/filters.js';

test('no field: an empty whitelist (every flow)', () => {
  assert.deepEqual(buildFilters({}), { whitelist: [] });
});

test('verdict alone: one filter', () => {
  assert.deepEqual(buildFilters({ verdict: 'DROPPED' }), { whitelist: [{ verdict: ['DROPPED'] }] });
});

test('a pod on either side: two filters, source OR destination, the others in both', () => {
  assert.deepEqual(buildFilters({ verdict: 'DROPPED', pod: { side: 'either', value: 'shop/cart' } }), {
    whitelist: [
      { verdict: ['DROPPED'], source_pod: ['shop/cart'] },
      { verdict: ['DROPPED'], destination_pod: ['shop/cart'] },
    ],
  });
});

test('several either-side fields go to the same side together (hubble)', () => {
  const f = buildFilters({ label: { side: 'either', value: 'app=web' }, port: { side: 'either', value: '80' } });
  assert.deepEqual(f.whitelist, [
    { source_label: ['app=web'], source_port: ['80'] },
    { destination_label: ['app=web'], destination_port: ['80'] },
  ]);
});

test('from and to pods, a destination port: one filter', () => {
  const f = buildFilters({ from_pod: 'shop/frontend', to_pod: 'shop/cart', port: { side: 'to', value: '8080' } });
  assert.deepEqual(f.whitelist, [{ source_pod: ['shop/frontend'], destination_pod: ['shop/cart'], destination_port: ['8080'] }]);
});

test('the namespace picker: pods of NS on either side', () => {
  assert.deepEqual(buildFilters({ namespace: 'shop' }).whitelist, [{ source_pod: ['shop/'] }, { destination_pod: ['shop/'] }]);
});

test('a pod without NS/ is looked for in the picked namespace, or in any', () => {
  assert.deepEqual(buildFilters({ namespace: 'shop', from_pod: 'cart' }).whitelist, [{ source_pod: ['shop/cart'] }]);
  assert.deepEqual(buildFilters({ from_pod: 'cart' }).whitelist, [{ source_pod: ['/cart'] }]);
});

test('type, protocol, FQDN and HTTP fields use hubble\'s names', () => {
  const f = buildFilters({
    type: 'policy-verdict', protocol: 'TCP', fqdn: { side: 'to', value: 'api.example' },
    http_method: 'get', http_path: '^/api/', http_status: '5+',
  });
  assert.deepEqual(f.whitelist, [{
    destination_fqdn: ['api.example'], protocol: ['tcp'], event_type: [{ type: 5 }],
    http_method: ['GET'], http_path: ['^/api/'], http_status_code: ['5+'],
  }]);
});

test('bad values are named before anything is sent', () => {
  assert.deepEqual(problems({ port: { value: 'http' } }), ["port: 'http' is not a number"]);
  assert.deepEqual(problems({ port: { value: '70000' } }), ['port: 70000 is not 1..65535']);
  assert.equal(problems({ http_status: '99' }).length, 1);
  assert.deepEqual(problems({ port: { value: '443' }, http_status: '404' }), []);
});

test('describe says what is filtered', () => {
  assert.equal(describe({ verdict: 'DROPPED', from_pod: 'x/a', port: { side: 'to', value: '80' } }),
    'verdict DROPPED, from x/a, port 80 (to)');
});
