-- SPDX-License-Identifier: BSD-2-Clause
--
-- lua/bulwark.lua - the helper half of the `bulwark` table that scripts get
-- with require("bulwark"). bulwarkd compiles this file into itself and runs
-- it in every script's sandbox, after the host functions (log, now,
-- endpoint, quarantine, ...) are in the table it receives; docs/lua.md lists
-- both halves. It is installed under share/bulwark/lua/ for reading, and so
-- that scripts can be tried outside the daemon (docs/lua.md, "Testing a
-- script").
--
-- Everything here is plain Lua 5.4 with the sandbox's libraries only.

local bw = ...
bw = bw or {}

-- The clock the helpers use: the host's when there is one.
local function now()
  if bw.now then return bw.now() end
  return os.time()
end

---------------------------------------------------------------------------
-- Addresses and CIDRs
---------------------------------------------------------------------------

-- "10.1.2.3" -> { 10, 1, 2, 3 } as 16 bytes (IPv4 in the first 4), family
local function parse_v4(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  local t = { tonumber(a), tonumber(b), tonumber(c), tonumber(d) }
  for i = 1, 4 do
    if t[i] > 255 or #({ a, b, c, d })[i] > 3 then return nil end
  end
  return t, 4
end

local function parse_v6(s)
  if s:find("[^%x:%.]") then return nil end
  local head, tail = s, nil
  local dbl = s:find("::", 1, true)
  if dbl then
    head, tail = s:sub(1, dbl - 1), s:sub(dbl + 2)
    if tail:find("::", 1, true) then return nil end
  end
  local function groups(part)
    local g = {}
    if part == "" then return g end
    for w in (part .. ":"):gmatch("([^:]*):") do
      if w:find("%.") then
        local v4 = parse_v4(w)
        if not v4 then return nil end
        g[#g + 1] = v4[1] * 256 + v4[2]
        g[#g + 1] = v4[3] * 256 + v4[4]
      else
        if #w == 0 or #w > 4 then return nil end
        g[#g + 1] = tonumber(w, 16)
      end
    end
    return g
  end
  local hg, tg = groups(head), groups(tail or "")
  if not hg or not tg then return nil end
  local n = #hg + #tg
  if (dbl and n > 7) or (not dbl and n ~= 8) then return nil end
  local all = {}
  for _, v in ipairs(hg) do all[#all + 1] = v end
  for _ = 1, 8 - n do all[#all + 1] = 0 end
  for _, v in ipairs(tg) do all[#all + 1] = v end
  local bytes = {}
  for i = 1, 8 do
    bytes[2 * i - 1] = all[i] >> 8
    bytes[2 * i] = all[i] & 0xff
  end
  return bytes, 6
end

-- An address as bytes and its family (4 or 6), or nil.
function bw.parse_ip(s)
  if type(s) ~= "string" then return nil end
  local b, fam = parse_v4(s)
  if b then return b, fam end
  return parse_v6(s)
end

local cidr_mt = {}
cidr_mt.__index = cidr_mt

-- True when the address (text) lies in the prefix.
function cidr_mt:contains(ip)
  local b, fam = bw.parse_ip(ip)
  if not b or fam ~= self.family then return false end
  local bits = self.len
  for i = 1, #b do
    if bits <= 0 then return true end
    if bits >= 8 then
      if b[i] ~= self.bytes[i] then return false end
      bits = bits - 8
    else
      local mask = (0xff << (8 - bits)) & 0xff
      return (b[i] & mask) == (self.bytes[i] & mask)
    end
  end
  return true
end

function cidr_mt:__tostring()
  return self.text
end

-- bw.cidr("10.0.0.0/8") -> a matcher with :contains(ip); a bare address is
-- a host prefix. Errors on bad input (a script bug, caught at load time
-- when the matcher is built at the top of the script).
function bw.cidr(text)
  if type(text) ~= "string" then
    error("bulwark.cidr: expected a string like \"10.0.0.0/8\"", 2)
  end
  local addr, len = text:match("^([^/]+)/(%d+)$")
  addr = addr or text
  local b, fam = bw.parse_ip(addr)
  if not b then error("bulwark.cidr: '" .. text .. "' is not a CIDR", 2) end
  local max = fam == 4 and 32 or 128
  len = tonumber(len) or max
  if len > max then error("bulwark.cidr: '" .. text .. "': length over " .. max, 2) end
  return setmetatable({ text = text, bytes = b, family = fam, len = len }, cidr_mt)
end

local cidr_cache, cidr_cached = {}, 0

-- True when ip lies in one of the CIDRs (strings or bw.cidr matchers).
function bw.in_cidrs(ip, list)
  for _, c in ipairs(list) do
    if type(c) == "string" then
      local m = cidr_cache[c]
      if not m then
        if cidr_cached >= 256 then cidr_cache, cidr_cached = {}, 0 end
        m = bw.cidr(c)
        cidr_cache[c] = m
        cidr_cached = cidr_cached + 1
      end
      c = m
    end
    if c:contains(ip) then return true end
  end
  return false
end

---------------------------------------------------------------------------
-- Labels: lists of "source:key=value" strings, as flows and requests have
---------------------------------------------------------------------------

-- "k8s:app=web" -> "k8s", "app", "web"; "app=web" -> nil, "app", "web"
local function split_label(s)
  local src, rest = s:match("^([%w%-%.]+):(.*)$")
  if not src then rest = s end
  local k, v = rest:match("^([^=]*)=(.*)$")
  if not k then k, v = rest, nil end
  return src, k, v
end

-- The value of key in labels (the first source that has it), or nil.
-- key may carry a source: "k8s:app".
function bw.label(labels, key)
  if type(labels) ~= "table" then return nil end
  local wsrc, wkey = split_label(key)
  for _, l in ipairs(labels) do
    local src, k, v = split_label(l)
    if k == wkey and (wsrc == nil or wsrc == src) then return v or "" end
  end
  return nil
end

-- True when labels has the label: "k8s:app=web" (exact), "app=web" (any
-- source), "app" (the key, any value), "k8s:app" (the key from k8s).
function bw.has_label(labels, want)
  if type(labels) ~= "table" then return false end
  local wsrc, wkey, wval = split_label(want)
  for _, l in ipairs(labels) do
    local src, k, v = split_label(l)
    if k == wkey and (wsrc == nil or wsrc == src) and
       (wval == nil or wval == (v or "")) then
      return true
    end
  end
  return false
end

-- True when every key = value pair of want is in labels (any source,
-- unless the key says "k8s:app").
function bw.match_labels(labels, want)
  for k, v in pairs(want) do
    if bw.label(labels, k) ~= v then return false end
  end
  return true
end

---------------------------------------------------------------------------
-- Generic L7 rules (protocol parsers): Cilium's l7: [{key: value}, ...]
---------------------------------------------------------------------------

-- bw.l7_match(rules, fields): the index of the first rule whose every
-- key = value pair matches fields (values are Lua patterns matched against
-- the whole field: "public:.*"), or nil. An empty rule {} matches
-- anything; no rules at all matches nothing.
function bw.l7_match(rules, fields)
  for i, rule in ipairs(rules or {}) do
    local ok = true
    for k, pat in pairs(rule) do
      local v = fields[k]
      if v == nil or not tostring(v):find("^" .. tostring(pat) .. "$") then
        ok = false
        break
      end
    end
    if ok then return i end
  end
  return nil
end

---------------------------------------------------------------------------
-- Rate limits and windows (state lives in the script, across calls)
---------------------------------------------------------------------------

local MAX_KEYS = 10000 -- per limiter or window: beyond, the oldest state goes

local rl_mt = {}
rl_mt.__index = rl_mt

-- lim:allow(key): true while key stays within rate per second, with bursts
-- of up to burst; each true takes one token.
function rl_mt:allow(key)
  key = key or ""
  local t = now()
  local b = self.buckets[key]
  if not b then
    if self.n >= MAX_KEYS then self.buckets, self.n = {}, 0 end
    b = { tokens = self.burst, last = t }
    self.buckets[key] = b
    self.n = self.n + 1
  end
  b.tokens = math.min(self.burst, b.tokens + (t - b.last) * self.rate)
  b.last = t
  if b.tokens >= 1 then
    b.tokens = b.tokens - 1
    return true
  end
  return false
end

-- bw.ratelimit(rate, burst): a token bucket per key.
function bw.ratelimit(rate, burst)
  if type(rate) ~= "number" or rate <= 0 then
    error("bulwark.ratelimit: rate must be a positive number", 2)
  end
  burst = burst or math.max(1, rate)
  return setmetatable({ rate = rate, burst = burst, buckets = {}, n = 0 }, rl_mt)
end

local win_mt = {}
win_mt.__index = win_mt

-- Forget what is older than the window for key; return its set and count.
function win_mt:_prune(key, t)
  local set = self.sets[key]
  if not set then return nil, 0 end
  local n, cut = 0, t - self.seconds
  for thing, seen in pairs(set) do
    if seen < cut then set[thing] = nil else n = n + 1 end
  end
  if n == 0 then self.sets[key] = nil; self.nkeys = self.nkeys - 1; return nil, 0 end
  return set, n
end

-- w:add(key, thing): note thing for key now; return how many distinct
-- things key had within the last seconds (this one included).
function win_mt:add(key, thing)
  local t = now()
  local set, n = self:_prune(key, t)
  if not set then
    if self.nkeys >= MAX_KEYS then self.sets, self.nkeys = {}, 0 end
    set, n = {}, 0
    self.sets[key] = set
    self.nkeys = self.nkeys + 1
  end
  if set[thing] == nil then n = n + 1 end
  set[thing] = t
  return n
end

-- w:count(key): distinct things key had within the window.
function win_mt:count(key)
  local _, n = self:_prune(key, now())
  return n
end

-- w:reset(key): forget key.
function win_mt:reset(key)
  if self.sets[key] then self.sets[key] = nil; self.nkeys = self.nkeys - 1 end
end

-- bw.window(seconds): distinct things per key in a sliding window.
function bw.window(seconds)
  if type(seconds) ~= "number" or seconds <= 0 then
    error("bulwark.window: seconds must be a positive number", 2)
  end
  return setmetatable({ seconds = seconds, sets = {}, nkeys = 0 }, win_mt)
end

return bw
