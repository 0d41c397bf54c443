-- SPDX-License-Identifier: BSD-2-Clause
--
-- lua/examples/examples_test.lua - the example scripts, tried with
-- lua/testing.lua and the plain interpreter, as docs/lua.md shows a rule
-- author testing a script before installing it:
--   lua5.4 examples_test.lua [DIR-OF-testing.lua]
-- Prints one line per check; exits 1 if any fails.

local dir = arg and arg[0]:match("^(.*/)") or "./"
local libdir = arg and arg[1] or (dir .. "../")
local T = dofile(libdir .. "testing.lua")
local failed, passed = 0, 0

local function check(desc, ok, extra)
  if ok then
    passed = passed + 1
    print("PASS: " .. desc)
  else
    failed = failed + 1
    print("FAIL: " .. desc .. (extra and (": " .. tostring(extra)) or ""))
  end
end

-- deny-debug-header: the header from an ordinary pod is refused, from a
-- trusted one it passes, a request without it passes.
do
  local s = T.load(dir .. "deny-debug-header.lua")
  local v, why = s.on_http(T.http{ headers = { ["X-Debug"] = "1" } })
  check("deny-debug-header denies x-debug from an ordinary pod", v == "deny", why)
  check("... and says why", why and why:find("x%-debug header from default/client"), why)
  v = s.on_http(T.http{ headers = { ["X-Debug"] = "1" },
                        source = { labels = { "k8s:app=debugger" } } })
  check("deny-debug-header lets the debugger send it", v == nil)
  check("deny-debug-header ignores requests without it", s.on_http(T.http{}) == nil)
end

-- alert-repeated-denies: 5 denies of one source within the window post one
-- alert, the 6th does not post again.
do
  local now = 1000
  local s = T.load(dir .. "alert-repeated-denies.lua", { now = 0 })
  s.bw.now = function() return now end
  for i = 1, 4 do
    now = now + 1
    s.on_verdict(T.flow{ verdict = "DROPPED", dport = 81 })
  end
  check("4 denies post nothing", #s.asked.webhooks == 0)
  now = now + 1
  s.on_verdict(T.flow{ verdict = "DROPPED", dport = 81 })
  check("the 5th posts an alert", #s.asked.webhooks == 1)
  local p = s.asked.webhooks[1] and s.asked.webhooks[1].payload or {}
  check("the alert names the source and the port",
        p.source == "default/client" and p.last and p.last.port == 81, p.source)
  s.on_verdict(T.flow{ verdict = "DROPPED", dport = 81 })
  check("no second alert within the quiet time", #s.asked.webhooks == 1)
  s.on_verdict(T.flow{ verdict = "FORWARDED" })
  check("allowed flows are not counted", #s.asked.webhooks == 1)
end

-- quarantine-portscan: 11 distinct ports from one pod quarantine it once.
do
  local s = T.load(dir .. "quarantine-portscan.lua")
  for port = 1000, 1009 do
    s.on_flow(T.flow{ dport = port, source = { namespace = "x", pod_name = "scanner" } })
  end
  check("10 ports are not a scan", #s.asked.quarantines == 0)
  s.on_flow(T.flow{ dport = 1010, source = { namespace = "x", pod_name = "scanner" } })
  local q = s.asked.quarantines[1]
  check("the 11th port quarantines the pod",
        q and q.endpoint == "x/scanner" and q.peer == "0.0.0.0/0" and q.seconds == 300,
        q and q.endpoint)
  s.on_flow(T.flow{ dport = 1011, source = { namespace = "x", pod_name = "scanner" } })
  check("once", #s.asked.quarantines == 1)
  s.on_flow(T.flow{ dport = 22, flags = { SYN = true, ACK = true },
                    source = { namespace = "x", pod_name = "other" } })
  check("a SYN-ACK is not a connection attempt", #s.asked.quarantines == 1)
end

-- tag-flows and dns-denylist
do
  local s = T.load(dir .. "tag-flows.lua")
  local tag = s.on_flow(T.flow{ destination = { namespace = "payments" },
                                source = { namespace = "shop" } })
  check("tag-flows tags a cross-team flow",
        tag and tag.team == "payments" and tag.cross_team == true)
  check("tag-flows leaves other flows alone",
        s.on_flow(T.flow{ destination = { namespace = "other" },
                          source = { namespace = "other" } }) == nil)
  local d = T.load(dir .. "dns-denylist.lua")
  check("dns-denylist refuses a mining pool", d.on_dns(T.dns{ name = "xmr.pool.example." }) == "deny")
  check("dns-denylist lets other names through", d.on_dns(T.dns{ name = "api.example.com" }) == nil)
  check("dns-denylist exempts security-tools",
        d.on_dns(T.dns{ name = "xmr.pool.example", source = { namespace = "security-tools" } }) == nil)
end

-- line-protocol (kvline): framing, rules, the denied reply
do
  local s = T.load(dir .. "line-protocol.lua")
  check("line-protocol defines protocol kvline", s.protocol and s.protocol.name == "kvline")
  local rules = { { cmd = "GET" }, { cmd = "SET", key = "public:.*" } }
  local out, rest = s.feed("GET a\r\nSET public:x 1\nSET secret 2\nGET b\n", rules)
  check("kvline allows GET and SET public:*, by rule",
        out[1].verdict == "allow" and out[1].rule == 1 and
        out[2].verdict == "allow" and out[2].rule == 2 and out[2].fields.key == "public:x")
  check("kvline denies SET secret with its reply, and goes on",
        #out == 4 and out[3].verdict == "deny" and out[3].fields.cmd == "SET" and
        out[3].reply == "-ERR access denied by policy\r\n" and
        out[4].verdict == "allow" and rest == "", #out)
  out, rest = s.feed("get k\nDEL", rules)
  check("kvline: commands are case-insensitive, a partial line waits",
        #out == 1 and out[1].verdict == "allow" and rest == "DEL", rest)
  out = s.feed("DEL k\n", nil)
  check("kvline without l7 rules only shows (allows)", #out == 1 and out[1].verdict == "allow")
  out = s.feed("DEL k\n", {})
  check("kvline with an empty rule list denies", out[1].verdict == "deny")
  check("kvline frames the server's replies by line",
        s.protocol.response("+OK GET a\r\n+OK") == 11 and s.protocol.response("+OK") == nil)
end

-- the testing library's alert records reach an on_alert hook
do
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write("local bw = require('bulwark')\n",
          "function on_alert(a) bw.counter('denies', {to = a.destination}, a.count) end\n")
  f:close()
  local s = T.load(path)
  os.remove(path)
  s.on_alert(T.alert{ destination = "payments/db", count = 3 })
  local c = s.asked.counters[1]
  check("T.alert drives on_alert", c and c.labels.to == "payments/db" and c.value == 3)
end

print(string.format("# examples_test.lua: %d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
