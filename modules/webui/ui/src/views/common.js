// SPDX-License-Identifier: BSD-2-Clause
// views/common.js - pieces several views share.

import { h, notice } from '../dom.js';
import { notAvailable } from '../api.js';

// The notice for a failed request: "not available on this daemon" when the
// route is not served (its module is not loaded, or the daemon is older),
// else the daemon's own error message.
export function errorNotice(err, what, needs) {
  if (notAvailable(err)) {
    return notice('info', h('strong', {}, `${what} is not available on this daemon. `),
      `The daemon does not serve ${err.path ? 'GET ' + err.path.split('?')[0] : 'this route'}${needs ? `; it comes with ${needs}` : ''}. `,
      'See docs/webui.md.');
  }
  return notice('error', h('strong', {}, `${what}: `), err && err.message ? err.message : String(err));
}

export function loading(what) {
  return h('p', { class: 'loading', role: 'status' }, `Loading ${what}…`);
}

export function yesNo(b, yes = 'yes', no = 'no') {
  return h('span', { class: b ? 'yes' : 'no' }, b ? yes : no);
}

export function since(select) {
  return select.value || undefined;
}

// A <select> of time windows.
export function sinceSelect(id, value, onChange, options = [['', 'all'], ['5m', '5 minutes'], ['1h', '1 hour'], ['24h', '24 hours']]) {
  const sel = h('select', { id, onChange: () => onChange(sel.value) },
    options.map(([v, t]) => h('option', { value: v, selected: v === value }, t)));
  return sel;
}

export function field(labelText, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2)}`;
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, labelText), input, hint ? h('small', {}, hint) : null);
}

export function policyRef(p) {
  if (typeof p === 'string') return p;
  return `${p.kind} ${p.namespace ? p.namespace + '/' : ''}${p.name}`;
}
