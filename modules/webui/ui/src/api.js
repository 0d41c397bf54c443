// SPDX-License-Identifier: BSD-2-Clause
// api.js - the page's only way to the daemon: /api/v1/... (the control API
// routes the CLI uses, called in-process by the webui module) and
// /api/events (live flows as Server-Sent Events). Errors are the daemon's
// {"error": ...} objects, thrown as ApiError with the status.

const TOKEN_KEY = 'bulwark-webui-token';
let token = sessionStorage.getItem(TOKEN_KEY) || '';
const authWaiters = new Set();

export class ApiError extends Error {
  constructor(status, message, path) {
    super(message);
    this.status = status;
    this.path = path;
  }
}

// The route is not served by this daemon (its module is not loaded, or the
// daemon predates it): the core answers 404 "no API endpoint at ...".
export function notAvailable(err) {
  return err instanceof ApiError && err.status === 404 && /no API endpoint/.test(err.message);
}

export function setToken(t) {
  token = t || '';
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function hasToken() {
  return token !== '';
}

// Called with every 401, so the page can ask for the token.
export function onAuthNeeded(fn) {
  authWaiters.add(fn);
  return () => authWaiters.delete(fn);
}

function headers(extra) {
  const hd = { Accept: 'application/json', ...extra };
  if (token) hd.Authorization = 'Bearer ' + token;
  return hd;
}

async function fail(res, path) {
  let msg = res.statusText || ('HTTP ' + res.status);
  try {
    const body = await res.json();
    if (body && typeof body.error === 'string') msg = body.error;
  } catch (e) { /* not JSON */ }
  if (res.status === 401) authWaiters.forEach((fn) => fn(msg));
  throw new ApiError(res.status, msg, path);
}

// A query string from an object: arrays of strings repeat the key, other
// objects (FlowFilter lists) go as JSON; undefined and '' are left out.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v) && v.every((x) => typeof x !== 'object')) v.forEach((x) => q.append(k, x));
    else q.append(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

// GET /api<path> -> the JSON document.
export async function get(path) {
  const res = await fetch('/api' + path, { headers: headers() });
  if (!res.ok) await fail(res, path);
  return res.json();
}

// GET /api<path> of an NDJSON stream -> its objects.
export async function getLines(path) {
  const res = await fetch('/api' + path, { headers: headers() });
  if (!res.ok) await fail(res, path);
  const text = await res.text();
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

// POST/PUT/DELETE with a text body (YAML or JSON) -> the JSON reply.
export async function send(method, path, body, type = 'application/yaml') {
  const res = await fetch('/api' + path, {
    method,
    headers: headers({ 'Content-Type': type, 'X-Requested-With': 'bulwark-webui' }),
    body: body === undefined ? undefined : body,
  });
  if (!res.ok) await fail(res, path);
  return res.json();
}

// Parse Server-Sent Events from text chunks; calls onEvent(type, data).
export function sseParser(onEvent) {
  let buf = '';
  let type = 'message';
  let data = [];
  return (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      let line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') {
        if (data.length) onEvent(type, data.join('\n'));
        type = 'message';
        data = [];
      } else if (line.startsWith(':')) {
        continue;
      } else {
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        let value = i < 0 ? '' : line.slice(i + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') type = value;
        else if (field === 'data') data.push(value);
      }
    }
  };
}

// Follow /api/events with the given FlowFilter lists. fetch() rather than
// EventSource, so that the bearer token goes in a header. Reconnects after
// errors. Returns {close()}. Callbacks: onFlow(response), onLost(n),
// onState('live'|'connecting'|'error', message).
export function follow(filters, { onFlow, onLost, onState }) {
  let closed = false;
  let ctrl = null;
  let delay = 1000;
  const q = query({
    whitelist: filters && filters.whitelist && filters.whitelist.length ? filters.whitelist : undefined,
    blacklist: filters && filters.blacklist && filters.blacklist.length ? filters.blacklist : undefined,
  });

  async function run() {
    while (!closed) {
      ctrl = new AbortController();
      onState && onState('connecting');
      try {
        const res = await fetch('/api/events' + q, { headers: headers({ Accept: 'text/event-stream' }), signal: ctrl.signal });
        if (!res.ok) await fail(res, '/events');
        onState && onState('live');
        delay = 1000;
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        const feed = sseParser((type, data) => {
          if (type === 'flow' && onFlow) onFlow(JSON.parse(data));
          else if (type === 'lost' && onLost) {
            const d = JSON.parse(data);
            onLost(Number(d.lost_events && d.lost_events.num_events_lost) || 0);
          }
        });
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          feed(dec.decode(value, { stream: true }));
        }
        if (!closed) onState && onState('error', 'the live stream ended');
      } catch (e) {
        if (closed) return;
        onState && onState('error', e.message);
        if (e instanceof ApiError && (e.status === 400 || e.status === 401)) return;
      }
      if (closed) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }
  run();
  return {
    close() {
      closed = true;
      if (ctrl) ctrl.abort();
    },
  };
}
