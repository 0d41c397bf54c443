-- SPDX-License-Identifier: BSD-2-Clause
--
-- alert-repeated-denies.lua - post an alert to a webhook when a workload
-- keeps being denied: THRESHOLD denies within WINDOW seconds from one
-- source. One alert per source and QUIET seconds at most.
--
-- Why: a single deny is often a misconfiguration being fixed; a workload
-- denied again and again is either broken by a policy change or probing
-- what it may reach. Either way someone should look, with the policy
-- that denied it in hand.
--
-- Hook: on_verdict (policy verdicts and drops). It does not hold flows
-- back: on_verdict only observes.
--
-- Set-up: the webhook URL must be under [lua] webhooks in bulwark.conf,
-- e.g.  webhooks = http://alerts.example:8080/
-- The payload is JSON: {"alert": "repeated-denies", "source": ...,
-- "denies": N, "window_seconds": W, "last": {destination, port, policy,
-- reason}}.

local bw = require("bulwark")

local WEBHOOK = "http://alerts.example:8080/bulwark"
local THRESHOLD = 5    -- denies ...
local WINDOW = 60      -- ... within this many seconds
local QUIET = 300      -- then no new alert for this source for 5 minutes

-- Per source: the times of its last THRESHOLD denies (a small ring), so
-- memory stays bounded however many denies there are.
local recent = {}
local sources = 0
local quiet_until = {}

local function source_of(v)
  local s = v.source
  if s and s.pod_name then return s.namespace .. "/" .. s.pod_name end
  return v.IP and v.IP.source or "?"
end

local function denied(v)
  return v.verdict == "DROPPED"
end

function on_verdict(v)
  if not denied(v) then return end
  local src, now = source_of(v), bw.now()
  local r = recent[src]
  if not r then
    if sources >= 10000 then recent, sources = {}, 0 end -- bound the state
    r = { n = 0, next = 1 }
    recent[src] = r
    sources = sources + 1
  end
  r[r.next] = now
  r.next = r.next % THRESHOLD + 1
  if r.n < THRESHOLD then r.n = r.n + 1 end
  if r.n < THRESHOLD then return end
  -- r[r.next] is now the oldest of the last THRESHOLD denies
  if now - r[r.next] > WINDOW then return end
  if (quiet_until[src] or 0) > now then return end
  quiet_until[src] = now + QUIET

  local dst = v.destination or {}
  local port = v.l4 and ((v.l4.TCP or v.l4.UDP or v.l4.SCTP or {}).destination_port)
  local by = v.ingress_denied_by or v.egress_denied_by
  local payload = {
    alert = "repeated-denies",
    node = v.node_name,
    source = src,
    denies = THRESHOLD,
    window_seconds = WINDOW,
    last = {
      destination = dst.pod_name and (dst.namespace .. "/" .. dst.pod_name)
                    or (v.IP and v.IP.destination),
      port = port,
      reason = v.drop_reason_desc,
      policy = by and by[1] and ((by[1].namespace or "") .. "/" .. by[1].name) or nil,
      time = v.time,
    },
  }
  local ok, err = bw.webhook(WEBHOOK, payload)
  if ok then
    bw.log("notice", src .. " denied " .. THRESHOLD .. " times within " ..
           WINDOW .. "s: alert sent")
  else
    bw.log("warning", "cannot alert about " .. src .. ": " .. err)
  end
  bw.counter("deny_alerts", { sent = tostring(ok == true) })
end
