-- SPDX-License-Identifier: BSD-2-Clause
--
-- tag-flows.lua - add the owning team to every flow, from the namespace,
-- so that `bulwark observe -o json`, the flow log and Hubble clients show
-- it under extensions.lua["tag-flows"].team.
--
-- Hook: on_flow. What it returns is added to the flow before the flow is
-- stored and published.

local TEAMS = {
  shop = "storefront",
  payments = "payments",
  ["kube-system"] = "platform",
}

local function team_of(side)
  return side and side.namespace and TEAMS[side.namespace]
end

function on_flow(flow)
  local src, dst = team_of(flow.source), team_of(flow.destination)
  if not src and not dst then return nil end
  return { team = dst or src, source_team = src, destination_team = dst,
           cross_team = (src ~= nil and dst ~= nil and src ~= dst) or nil }
end
