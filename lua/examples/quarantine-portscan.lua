-- SPDX-License-Identifier: BSD-2-Clause
--
-- quarantine-portscan.lua - cut off a pod that scans: one that opens
-- connections to more than PORTS distinct destination ports (of any
-- hosts) within WINDOW seconds is quarantined for QUARANTINE seconds:
-- nothing gets in or out (IPv4), also to and from other pods.
--
-- Why: a compromised workload typically looks around before it moves.
-- Policy limits where it may go; this stops it from trying, node-locally,
-- within seconds, without a human in the loop, and says why.
--
-- Hook: on_flow, on the first packet of each connection (a SYN without
-- ACK, seen as a trace, a policy verdict or a drop).
--
-- What you see: `bulwark quarantine list`, `bulwark policy list` (kind
-- Quarantine), `bulwark policy trace` (denied by Quarantine NS/quarantine-N),
-- the flows it drops (egress_denied_by), the log, and the metric
-- bulwark_lua_quarantines_total{script="quarantine-portscan"}. Lift it
-- early with `bulwark quarantine delete NS/quarantine-N`.

local bw = require("bulwark")

local PORTS = 10          -- more distinct ports than this ...
local WINDOW = 30         -- ... within this many seconds is a scan
local QUARANTINE = 300    -- seconds
local PEER = "0.0.0.0/0"  -- whom it may no longer talk to: everyone (IPv4)

local seen = bw.window(WINDOW)   -- per pod: distinct destination ip:port
local until_ = {}                -- pods quarantined by us, and until when

function on_flow(flow)
  local tcp = flow.l4 and flow.l4.TCP
  if not tcp or not tcp.flags or not tcp.flags.SYN or tcp.flags.ACK then
    return
  end
  local src = flow.source
  if not src or not src.pod_name or not src.namespace then
    return -- not a local pod: nothing to quarantine here
  end
  local pod = src.namespace .. "/" .. src.pod_name
  local now = bw.now()
  if (until_[pod] or 0) > now then return end

  local target = (flow.IP and flow.IP.destination or "?") .. ":" ..
                 tostring(tcp.destination_port)
  local n = seen:add(pod, target)
  if n <= PORTS then return end

  local reason = string.format("port scan: %d destination ports within %ds", n, WINDOW)
  -- true once asked: the daemon applies it right after this call returns
  -- (and logs it; `bulwark quarantine list` shows it)
  local ok, err = bw.quarantine(pod, PEER, QUARANTINE, reason)
  if ok then
    until_[pod] = now + QUARANTINE
    seen:reset(pod)
    bw.log("warning", "quarantining " .. pod .. " for " .. QUARANTINE .. "s: " .. reason)
    bw.counter("quarantines", { namespace = src.namespace })
  else
    bw.log("err", "cannot quarantine " .. pod .. ": " .. tostring(err))
  end
end
