-- SPDX-License-Identifier: BSD-2-Clause
--
-- lua/testing.lua - try a bulwark rule script outside the daemon, with the
-- plain Lua 5.4 interpreter (Debian's lua5.4), before putting it into
-- [lua] dir. It loads the script in an environment like the daemon's
-- sandbox (the same libraries, require("bulwark") with the same helper
-- library and stand-ins for the host functions that record what the
-- script asked for), checks its hooks as the daemon does, and lets a test
-- call them with hand-made flows and requests. See docs/lua.md, "Testing
-- a script".
--
--   local T = dofile("/usr/share/bulwark/lua/testing.lua")
--   local s = T.load("deny-debug-header.lua")
--   local verdict, reason = s.on_http(T.http{ headers = { ["x-debug"] = "1" } })
--   assert(verdict == "deny", reason)
--
-- What it does not do: budgets (instructions, memory, time) and the
-- bw-lua thread; the daemon enforces those.

local T = {}

local here = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")

-- The host functions, as stand-ins: what a script asks for is recorded in
-- s.asked (log lines, counters, gauges, webhooks, quarantines, flows).
local function host(name, asked, opts)
  local bw = { script = name }
  function bw.log(level, msg)
    if msg == nil then level, msg = "info", level end
    asked.log[#asked.log + 1] = { level = level, msg = tostring(msg) }
  end
  function bw.now() return opts.now or os.time() end
  function bw.endpoint(x) return (opts.endpoints or {})[x] end
  function bw.identity(id) return (opts.identities or {})[id] end
  function bw.policies() return opts.policies or {} end
  function bw.quarantine(ep, peer, seconds, reason)
    asked.quarantines[#asked.quarantines + 1] =
      { endpoint = ep, peer = peer, seconds = seconds, reason = reason }
    return true
  end
  function bw.counter(n, labels, v)
    asked.counters[#asked.counters + 1] = { name = n, labels = labels, value = v or 1 }
  end
  function bw.gauge(n, labels, v)
    asked.gauges[#asked.gauges + 1] = { name = n, labels = labels, value = v }
  end
  function bw.webhook(url, payload)
    asked.webhooks[#asked.webhooks + 1] = { url = url, payload = payload }
    return true
  end
  function bw.emit_flow(f)
    asked.flows[#asked.flows + 1] = f
    return true
  end
  -- the helper library, as the daemon loads it
  local helpers = assert(loadfile(here .. "bulwark.lua", "t"))
  helpers(bw)
  return bw
end

local HOOKS = { on_flow = true, on_verdict = true, on_dns = true, on_http = true,
                on_kafka = true, on_alert = true }

-- T.load(path [, opts]): the script as the daemon would load it. opts:
-- now (the clock), endpoints / identities / policies (what the lookups
-- answer). Returns s with s.on_flow(...) etc. for the hooks it defines,
-- s.env (its globals) and s.asked (what it asked the host for).
function T.load(path, opts)
  opts = opts or {}
  local name = path:match("([^/]+)%.lua$") or path
  local asked = { log = {}, counters = {}, gauges = {}, webhooks = {},
                  quarantines = {}, flows = {} }
  local bw = host(name, asked, opts)
  local env = {
    assert = assert, error = error, getmetatable = getmetatable, ipairs = ipairs,
    next = next, pairs = pairs, pcall = pcall, rawequal = rawequal, rawget = rawget,
    rawlen = rawlen, rawset = rawset, select = select, tonumber = tonumber,
    tostring = tostring, type = type, xpcall = xpcall, _VERSION = _VERSION,
    string = string, table = table, math = math, utf8 = utf8,
    os = { time = os.time, clock = os.clock },
  }
  env._G = env
  env.print = function(...) bw.log(table.concat({ ... }, "\t")) end
  env.require = function(m)
    if m ~= "bulwark" then
      error("module '" .. tostring(m) .. "' not available in the sandbox (only \"bulwark\")", 2)
    end
    return bw
  end
  env.load = function(chunk, chunkname, _, e) return load(chunk, chunkname, "t", e) end
  env.setmetatable = function(t, mt)
    if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
      error("setmetatable: __gc metamethods are not allowed in the sandbox", 2)
    end
    return setmetatable(t, mt)
  end
  env.collectgarbage = function(o)
    o = o or "collect"
    if o ~= "collect" and o ~= "count" and o ~= "step" and o ~= "isrunning" then
      error("collectgarbage: option '" .. o .. "' is not available in the sandbox", 2)
    end
    return collectgarbage(o)
  end
  local chunk = assert(loadfile(path, "t", env))
  chunk()
  local s = { env = env, asked = asked, bw = bw }
  for k, v in pairs(env) do
    if type(k) == "string" and k:sub(1, 3) == "on_" then
      if not HOOKS[k] then
        error("'" .. k .. "' is not a hook (the hooks are on_flow, on_verdict, " ..
              "on_dns, on_http, on_kafka, on_alert)", 2)
      end
      if type(v) ~= "function" then
        error("hook '" .. k .. "' must be a function, not a " .. type(v), 2)
      end
      s[k] = v
    end
  end
  -- protocol = {name, frame, request [, denied] [, response]}: checked as the daemon
  -- checks it; s.protocol is the table, s.feed() drives it
  local p = env.protocol
  if p ~= nil then
    if type(p) ~= "table" then error("'protocol' must be a table, not a " .. type(p), 2) end
    if type(p.name) ~= "string" or not p.name:match("^[a-z0-9._-]+$") or #p.name > 63 then
      error("protocol.name must be a protocol name (1 to 63 of [a-z0-9._-])", 2)
    end
    if p.name == "http" or p.name == "kafka" or p.name == "dns" then
      error("protocol.name '" .. p.name .. "' is built in", 2)
    end
    if type(p.frame) ~= "function" then error("protocol.frame must be a function", 2) end
    if type(p.request) ~= "function" then error("protocol.request must be a function", 2) end
    if p.response ~= nil and type(p.response) ~= "function" then
      error("protocol.response must be a function", 2)
    end
    if p.denied ~= nil and type(p.denied) ~= "string" and type(p.denied) ~= "function" then
      error("protocol.denied must be a string or a function", 2)
    end
    s.protocol = p
    s.feed = function(data, rules, conn) return T.feed(p, data, rules, conn) end
  end
  return s
end

-- Hand-made arguments with the daemon's shape; give only what matters.

local function peer(p, def)
  p = p or {}
  return {
    namespace = p.namespace or def.namespace, pod = p.pod or def.pod,
    labels = p.labels or def.labels, identity = p.identity or def.identity,
    ip = p.ip or def.ip, port = p.port or def.port,
  }
end

local CLIENT = { namespace = "default", pod = "client", ip = "10.1.0.2", port = 43122,
                 identity = 1001, labels = { "k8s:app=client",
                 "k8s:io.kubernetes.pod.namespace=default" } }
local SERVER = { namespace = "default", pod = "server", ip = "10.1.0.1", port = 80,
                 identity = 1000, labels = { "k8s:app=server",
                 "k8s:io.kubernetes.pod.namespace=default" } }

-- T.http{method, path, host, headers = {name = value}, source, destination}
function T.http(r)
  r = r or {}
  local h = {}
  for k, v in pairs(r.headers or {}) do h[k:lower()] = v end
  return { method = r.method or "GET", path = r.path or "/", host = r.host,
           headers = h, source = peer(r.source, CLIENT),
           destination = peer(r.destination, SERVER) }
end

-- T.dns{name, qtype, source}
function T.dns(q)
  q = q or {}
  local nums = { A = 1, NS = 2, CNAME = 5, MX = 15, TXT = 16, AAAA = 28, SRV = 33 }
  local qt = q.qtype or "A"
  return { name = (q.name or "www.example.com"):lower():gsub("%.$", ""),
           qtype = qt, qtype_num = nums[qt] or 0, source = peer(q.source, CLIENT),
           destination = peer(q.destination, { ip = "10.96.0.10", port = 53 }) }
end

-- T.kafka{api_key, api_version, client_id, topics, source, destination}
function T.kafka(r)
  r = r or {}
  return { api_key = r.api_key or "produce", api_key_num = r.api_key_num or 0,
           api_version = r.api_version or 9, correlation_id = r.correlation_id or 1,
           client_id = r.client_id, topics = r.topics or {},
           source = peer(r.source, CLIENT), destination = peer(r.destination, SERVER) }
end

-- T.flow{verdict, source = {namespace, pod_name, labels}, destination,
--        src_ip, dst_ip, dport, flags = {SYN = true}, type = 5, ...}:
-- a Hubble flow as `bulwark observe -o json` prints it under "flow".
function T.flow(f)
  f = f or {}
  local flow = {
    time = f.time or "2026-01-01T00:00:00Z", uuid = f.uuid or "00000000-0000-4000-8000-000000000000",
    verdict = f.verdict or "FORWARDED", Type = "L3_L4", node_name = "node",
    IP = { source = f.src_ip or "10.1.0.2", destination = f.dst_ip or "10.1.0.1",
           ipVersion = "IPv4" },
    l4 = { TCP = { source_port = f.sport or 43122, destination_port = f.dport or 80,
                   flags = f.flags or { SYN = true } } },
    source = f.source or { namespace = "default", pod_name = "client",
                           labels = { "k8s:app=client" }, identity = 1001 },
    destination = f.destination or { namespace = "default", pod_name = "server",
                                     labels = { "k8s:app=server" }, identity = 1000 },
    event_type = { type = f.type or 5 },
    traffic_direction = f.direction or "INGRESS",
    drop_reason_desc = f.drop_reason_desc,
    Summary = "TCP Flags: SYN",
  }
  if flow.verdict == "DROPPED" and not flow.drop_reason_desc then
    flow.drop_reason_desc = "POLICY_DENIED"
  end
  return flow
end

-- T.alert{source, destination, port, protocol, direction, verdict,
--         policies, count, ...}: an alert record as on_alert gets it.
function T.alert(a)
  a = a or {}
  return {
    node = a.node or "node", source = a.source or "default/client",
    destination = a.destination or "default/server", port = a.port or 80,
    protocol = a.protocol or "TCP", direction = a.direction or "INGRESS",
    verdict = a.verdict or "DROPPED",
    policies = a.policies or { "NetworkPolicy default/deny-all" },
    default_deny = a.default_deny ~= false,
    reason = a.reason or "denied by default deny",
    source_pod = a.source_pod, destination_pod = a.destination_pod,
    time = a.time or "2026-01-01T00:00:00.000Z", count = a.count or 1,
    first_seen = a.first_seen or "2026-01-01T00:00:00.000Z",
    last_seen = a.last_seen or "2026-01-01T00:00:00.000Z",
  }
end

-- T.feed(protocol, data [, rules [, conn]]): what the daemon does with the
-- bytes a client sent: frame() and request() for each complete request.
-- rules: the port's l7 rules (a list of {key = pattern}), nil for none.
-- Returns a list of {verdict, fields, rule, frame, reply} (reply: what the
-- client gets instead of a denied request) and the undecided rest of data.
-- As in the daemon, a denied request is dropped (the client gets the reply)
-- and the next one is decided on its own.
function T.feed(p, data, rules, conn)
  conn = conn or { source = { ip = CLIENT.ip, port = CLIENT.port },
                   destination = { ip = SERVER.ip, port = SERVER.port },
                   direction = "INGRESS" }
  local out = {}
  while #data > 0 do
    local n = p.frame(data)
    if n == nil or n == false then break end
    assert(math.type(n) == "integer" and n >= 1 and n <= #data,
           "protocol.frame returned " .. tostring(n) .. " (expected nil or 1.." .. #data .. ")")
    local frame = data:sub(1, n)
    data = data:sub(n + 1)
    local v, fields, rule = p.request(frame, rules, conn)
    assert(v == nil or v == "allow" or v == "deny",
           "protocol.request returned " .. tostring(v) .. " (expected \"allow\" or \"deny\")")
    assert(fields == nil or type(fields) == "table", "protocol.request: fields must be a table")
    assert(rule == nil or (math.type(rule) == "integer" and rule >= 1),
           "protocol.request: the third value must be the index of the matching rule")
    local r = { verdict = v or "allow", fields = fields or {}, rule = rule, frame = frame }
    out[#out + 1] = r
    if r.verdict == "deny" then
      r.reply = type(p.denied) == "function" and p.denied(frame) or p.denied
    end
  end
  return out, data
end


return T
