-- SPDX-License-Identifier: BSD-2-Clause
--
-- dns-denylist.lua - answer REFUSED to DNS questions for names on a deny
-- list (here: mining pools and paste sites), whatever the policy allows,
-- except for the namespaces that need them.
--
-- Hook: on_dns. It runs for DNS traffic the DNS proxy handles (pods with
-- DNS rules in their policy).

local bw = require("bulwark")

-- Lua patterns on the lower-case name, without the final dot.
local DENY = { "%.?pool%.", "mining", "^pastebin%.", "%.onion$" }
local EXEMPT_NAMESPACES = { ["security-tools"] = true }

function on_dns(q)
  if EXEMPT_NAMESPACES[q.source.namespace or ""] then return end
  for _, pattern in ipairs(DENY) do
    if q.name:find(pattern) then
      bw.counter("dns_denied", { pattern = pattern })
      return "deny", q.qtype .. " " .. q.name .. " matches " .. pattern
    end
  end
end
