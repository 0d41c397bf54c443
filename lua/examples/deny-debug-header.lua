-- SPDX-License-Identifier: BSD-2-Clause
--
-- deny-debug-header.lua - refuse HTTP requests that carry a debugging
-- header, unless they come from a trusted workload.
--
-- Why: headers such as X-Debug switch on verbose error pages, tracing or
-- test bypasses in many frameworks. Policy says which workloads may call
-- which paths (Cilium's HTTP rules); it cannot say "this header only from
-- the debugging tools". This script adds that rule on top of policy: it
-- only narrows what policy allows.
--
-- Hook: on_http. It runs for requests that go through the L7 proxy, i.e.
-- to ports a policy gives HTTP rules.
--
-- Try it: copy it to [lua] dir (/etc/bulwark/lua), then from a pod without
-- the label app=debugger:
--   curl -H 'X-Debug: 1' http://web.shop/      -> 403 Access denied
--   bulwark observe --verdict DROPPED -o json   -> extensions.lua names this
--                                                  script and the reason

local bw = require("bulwark")

-- The headers only a trusted workload may send (lower case: the request's
-- header names always are).
local DEBUG_HEADERS = { "x-debug", "x-debug-token", "x-envoy-debug" }

-- A label every trusted pod carries ("app=debugger" matches the label
-- from any source; "k8s:app=debugger" only the pod label).
local TRUSTED = "app=debugger"

function on_http(req)
  for _, name in ipairs(DEBUG_HEADERS) do
    if req.headers[name] ~= nil and not bw.has_label(req.source.labels, TRUSTED) then
      local who = req.source.pod and (req.source.namespace .. "/" .. req.source.pod)
                  or req.source.ip
      -- the reason is shown in the flow and the log
      return "deny", string.format("%s header from %s (not %s)", name, who, TRUSTED)
    end
  end
  -- nil: no objection. A trusted request passes unchanged.
end
