// SPDX-License-Identifier: BSD-2-Clause
// main.js - the page: header (views, namespace picker, live state), the
// router (#/view?params, so that every view can be bookmarked and the
// back button works), the token prompt, and the one live flow stream the
// current view asks for.

import './style.css';
import { h, replace } from './dom.js';
import * as api from './api.js';
import { mountMap } from './views/map.js';
import { mountFlows } from './views/flows.js';
import { mountPolicies } from './views/policies.js';
import { mountExposure } from './views/exposure.js';
import { mountCompliance } from './views/compliance.js';
import { mountRecommend } from './views/recommend.js';

const VIEWS = [
  ['map', 'Service map', mountMap],
  ['flows', 'Flows', mountFlows],
  ['policies', 'Policies', mountPolicies],
  ['exposure', 'Exposure', mountExposure],
  ['compliance', 'Compliance', mountCompliance],
  ['recommend', 'Recommend', mountRecommend],
];

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [name, q] = raw.split('?');
  const params = Object.fromEntries(new URLSearchParams(q || ''));
  return { name: VIEWS.some(([v]) => v === name) ? name : 'map', params };
}

function hashOf(name, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return `#/${name}${s ? '?' + s : ''}`;
}

const ctx = {
  ui: { allow_changes: false },
  status: null,
  namespace: '',
  params: {},
  view: null,
  href: (name, params) => hashOf(name, { ...params, ns: ctx.namespace || undefined }),
  setParams(params) {
    ctx.params = params;
    history.replaceState(null, '', hashOf(current, { ...params, ns: ctx.namespace || undefined }));
  },
  restartLive: () => restartLive(),
};

let current = null;
let stream = null;
const main = h('main', { id: 'main', tabindex: -1 });
const nav = h('nav', { 'aria-label': 'Views' }, h('ul', {}, VIEWS.map(([v, t]) => h('li', {}, h('a', { href: `#/${v}`, 'data-view': v }, t)))));
const nsSelect = h('select', { id: 'ns-picker', 'aria-label': 'Namespace' }, h('option', { value: '' }, 'All namespaces'));
const liveState = h('span', { class: 'live-state', role: 'status', 'aria-live': 'polite' }, 'offline');
const daemonInfo = h('span', { class: 'daemon' });

document.body.append(
  h('a', { class: 'skip', href: '#main' }, 'Skip to the view'),
  h('header', { class: 'top' },
    h('a', { class: 'brand', href: '#/map' }, 'bulwark'),
    nav,
    h('div', { class: 'header-right' },
      h('label', { for: 'ns-picker' }, 'Namespace'), nsSelect, liveState, daemonInfo)),
  main);

nsSelect.addEventListener('change', () => {
  ctx.namespace = nsSelect.value;
  history.replaceState(null, '', hashOf(current, { ...ctx.params, ns: ctx.namespace || undefined }));
  if (ctx.view && ctx.view.setNamespace) ctx.view.setNamespace(ctx.namespace);
  restartLive();
});

function setLive(state, msg) {
  liveState.className = `live-state live-${state}`;
  liveState.textContent = state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : state === 'off' ? 'not live' : 'live updates stopped';
  liveState.title = msg || '';
}

function restartLive() {
  if (stream) stream.close();
  stream = null;
  const v = ctx.view;
  const filters = v && v.liveFilters ? v.liveFilters() : null;
  if (!filters) { setLive('off'); return; }
  stream = api.follow(filters, {
    onFlow: (f) => { if (ctx.view === v && v.onFlow) v.onFlow(f); },
    onLost: (n) => { if (ctx.view === v && v.onLost) v.onLost(n); },
    onState: setLive,
  });
}

function route() {
  const { name, params } = parseHash();
  if (params.ns !== undefined && params.ns !== ctx.namespace) {
    ctx.namespace = params.ns;
    if (![...nsSelect.options].some((o) => o.value === ctx.namespace)) nsSelect.append(h('option', { value: ctx.namespace }, ctx.namespace));
    nsSelect.value = ctx.namespace;
  }
  delete params.ns;
  if (ctx.view && ctx.view.unmount) ctx.view.unmount();
  current = name;
  ctx.params = params;
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
    a.setAttribute('href', hashOf(a.dataset.view, { ns: ctx.namespace || undefined }));
  }
  const [, title, mount] = VIEWS.find(([v]) => v === name);
  document.title = `${title} · bulwark`;
  replace(main);
  main.dataset.view = name;
  ctx.view = mount(main, ctx);
  restartLive();
}

function askToken(message) {
  if (document.querySelector('dialog.token')) return;
  const input = h('input', { id: 'token-input', type: 'password', autocomplete: 'off', required: true });
  const dlg = h('dialog', { class: 'token', 'aria-labelledby': 'token-title' },
    h('form', { method: 'dialog', onSubmit: (e) => { e.preventDefault(); api.setToken(input.value.trim()); dlg.close(); dlg.remove(); start(); } },
      h('h2', { id: 'token-title' }, 'Access token'),
      h('p', {}, 'This bulwark web UI asks for its access token: the content of the file its [webui] token_file names.'),
      message ? h('p', { class: 'hint' }, message) : null,
      h('label', { for: 'token-input' }, 'Token'), input,
      h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Continue'))));
  document.body.append(dlg);
  dlg.showModal();
}

api.onAuthNeeded(() => askToken(api.hasToken() ? 'The token was refused.' : ''));

async function loadNamespaces() {
  try {
    const doc = await api.get('/v1/namespaces');
    const names = (doc.namespaces || []).map((n) => (typeof n === 'string' ? n : n.name)).filter(Boolean).sort();
    const keep = nsSelect.value;
    replace(nsSelect, h('option', { value: '' }, 'All namespaces'), names.map((n) => h('option', { value: n }, n)));
    if (keep && !names.includes(keep)) nsSelect.append(h('option', { value: keep }, keep));
    nsSelect.value = keep;
  } catch (e) { /* the picker keeps what it has */ }
}

async function start() {
  try {
    ctx.ui = await api.get('/ui');
  } catch (e) {
    if (e.status === 401) return; // the token prompt is up
  }
  try {
    ctx.status = await api.get('/v1/status');
    daemonInfo.textContent = `bulwarkd ${ctx.status.version || ''}${ctx.ui.allow_changes ? '' : ' · read-only'}`;
  } catch (e) {
    daemonInfo.textContent = 'daemon unreachable';
  }
  await loadNamespaces();
  route();
}

window.addEventListener('hashchange', route);
setInterval(loadNamespaces, 30000);
start();
