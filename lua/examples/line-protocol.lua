-- SPDX-License-Identifier: BSD-2-Clause
--
-- line-protocol.lua - an L7 protocol parser written in Lua: "kvline", a
-- line-based key-value protocol (one command per line: GET key, SET key
-- value, DEL key; LF or CRLF), the shape of Redis' inline commands and of
-- many in-house protocols. With it, policy can allow commands, not just a
-- port, the way Cilium's generic L7 rules do:
--
--   apiVersion: cilium.io/v2
--   kind: CiliumNetworkPolicy
--   metadata: {name: cache-readers, namespace: shop}
--   spec:
--     endpointSelector: {matchLabels: {app: cache}}
--     ingress:
--     - fromEndpoints: [{matchLabels: {app: web}}]
--       toPorts:
--       - ports: [{port: "6379", protocol: TCP}]
--         rules:
--           l7proto: kvline
--           l7:
--           - {cmd: GET}
--           - {cmd: SET, key: "public:.*"}
--
-- Each l7 entry is one rule; a command is allowed when one rule matches all
-- of its keys (the values are Lua patterns matched against the whole
-- field: bulwark.l7_match). Everything else is answered "-ERR access denied
-- by policy" and never reaches the server, and every command is a flow of
-- Type L7 with its fields under extensions.l7 (bulwark observe -t l7).
--
-- The daemon calls protocol.frame() with the bytes the client sent that are
-- not decided yet, and protocol.request() with each complete request;
-- protocol.response() only cuts the server's replies, so that a denial
-- keeps its place among them.

local bw = require("bulwark")

local MAX_LINE = 4096

protocol = {
  name = "kvline",

  -- The length of the next request in data (a whole line), or nil to wait
  -- for more bytes. A line longer than MAX_LINE is judged as it is (and
  -- will match no rule).
  frame = function(data)
    local nl = data:find("\n", 1, true)
    if nl then return nl end
    if #data >= MAX_LINE then return #data end
    return nil
  end,

  -- Decide one request: "allow" or "deny", the fields its flow shows, and
  -- the index of the rule that allowed it (for the flow's attribution).
  -- rules is nil on a port with no L7 rules (visibility only: allow).
  request = function(line, rules, conn)
    local cmd, key = line:match("^%s*(%S+)%s*(%S*)")
    local fields = { cmd = (cmd or ""):upper(), key = key or "" }
    if rules == nil then return "allow", fields end
    local i = bw.l7_match(rules, fields)
    if i then return "allow", fields, i end
    return "deny", fields
  end,

  -- What the client gets instead of a denied request.
  denied = "-ERR access denied by policy\r\n",

  -- The length of the next reply from the server (one line too), or nil
  -- to wait. Optional: with it, a denial is sent after the replies to the
  -- requests before it (clients that pipeline match replies by order);
  -- without it, replies pass unparsed and a denial is sent at once.
  response = function(data)
    local nl = data:find("\n", 1, true)
    if nl then return nl end
    if #data >= MAX_LINE then return #data end
    return nil
  end,
}
