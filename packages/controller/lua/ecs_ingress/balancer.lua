-- Lua balancer of the dynamic upstream mode (issue 7). Every dynamic `upstream <name>` runs
--   balancer_by_lua_block { require("ecs_ingress.balancer").balance("<name>") }
--
-- Per request: one shared-dict read of the version counter. Each worker keeps the parsed endpoint
-- list of each service tagged with the version it was read at and re-reads the service's entry only
-- when the counter moved, so a push is seen by the very next request, with no timer and no reload.
--
-- Balancing: round robin per service per worker. NGINX calls the balancer again for each retry
-- (proxy_next_upstream, "error timeout" by default); a peer that failed is skipped by this worker
-- for FAILURE_TTL seconds, and set_more_tries allows as many tries as there are peers. This relies
-- on the upstream's only server being the `down` placeholder (see balance()).
--
-- No endpoint: a balancer cannot send a response. With no peer set NGINX falls back to the
-- upstream's placeholder `server 0.0.0.1:1 down;`, fails with "no live upstreams" and answers 502;
-- header_filter()/body_filter() (in the http context of the preamble) turn exactly that 502 into a
-- 503 with `X-ECS-Ingress-No-Endpoints: <name>`. Other ways measured with lua-nginx-module 0.10.23
-- on stock NGINX 1.22: ngx.exit(503) or ngx.exit(ngx.ERROR) in the balancer both become a 500 and
-- close the client connection (the 503 pass-through needs OpenResty's NGINX patch); the placeholder
-- path keeps the client connection alive.

local ngx_balancer = require("ngx.balancer")
local endpoints = require("ecs_ingress.endpoints")

local _M = {}

_M.NO_ENDPOINTS_HEADER = "X-ECS-Ingress-No-Endpoints"

-- How long a worker avoids a peer after a failed connection. Short: ECS replaces the task (and
-- the controller pushes the change) long before that matters, and a peer that came back is used
-- again within seconds.
local FAILURE_TTL = 2

local dict = endpoints.dict()
local VERSION_KEY = endpoints.VERSION_KEY
local set_current_peer = ngx_balancer.set_current_peer
local set_more_tries = ngx_balancer.set_more_tries
local get_last_failure = ngx_balancer.get_last_failure
local now = ngx.now

-- name -> { version = n, peers = { { host, port, key }, ... }, rr = last index used }
local services = {}
-- "ip:port" -> time until which this worker skips the peer
local failed_until = {}

local function parse_peers(value)
  local peers = {}
  local list = endpoints.split(value)
  for i = 1, #list do
    local key = list[i]
    local host, port = key:match("^(.+):(%d+)$")
    peers[i] = { host, tonumber(port), key }
  end
  return peers
end

local function forget_expired_failures(t)
  for key, expiry in pairs(failed_until) do
    if expiry <= t then
      failed_until[key] = nil
    end
  end
end

-- The service's current peers, re-read only when the version counter changed. The counter is read
-- BEFORE the value, so a list can only ever be tagged with a version older than its content, which
-- at worst costs one extra re-read. On a re-read the counter is read again after the value and the
-- read repeated (at most 3 times) while a push landed in between, so the tag is normally exactly the
-- version of the content (decisions() reports it). Returns the entry and the counter read first.
local function current(name)
  local version = dict:get(VERSION_KEY) or 0
  local live = version
  local entry = services[name]
  if entry ~= nil and entry.version == version then
    return entry, live
  end
  local key = endpoints.service_key(name)
  local value = dict:get(key)
  for _ = 1, 3 do
    local after = dict:get(VERSION_KEY) or 0
    if after == version then
      break
    end
    version = after
    value = dict:get(key)
  end
  local peers = parse_peers(value)
  if entry == nil then
    entry = { version = version, peers = peers, rr = 0 }
    services[name] = entry
  else
    entry.version = version
    entry.peers = peers
  end
  forget_expired_failures(now())
  return entry, live
end

-- Next peer after the round-robin cursor `rr` that this request has not tried, preferring peers
-- not marked failed; when every untried peer is marked failed, the first of them (one more try
-- beats a certain error). Returns the index or nil.
local function pick(peers, rr, tried, t)
  local n = #peers
  local fallback
  for step = 1, n do
    local index = (rr + step - 1) % n + 1
    local key = peers[index][3]
    if not tried[key] then
      local expiry = failed_until[key]
      if expiry == nil or expiry <= t then
        return index
      end
      if fallback == nil then
        fallback = index
      end
    end
  end
  return fallback
end

-- Appends "<ip:port>@<live>/<used>" for one try to the request's decision record: the peer chosen,
-- the version counter in the shared dict when this try began, and the version of the list the peer
-- was taken from (tag >= live unless this is a retry on the list of an earlier version). Kept in
-- ngx.ctx only; decisions() hands it to a log_by_lua that exports it, so tests and debugging judge
-- routing by the endpoint set a decision was made with rather than by a clock (NGINX's $msec is
-- the worker's cached event-loop time).
local function record(ctx, key, live, used)
  local previous = ctx.ecs_ingress_decisions
  local item = key .. "@" .. string.format("%d/%d", live, used)
  ctx.ecs_ingress_decisions = previous == nil and item or previous .. "," .. item
end

function _M.balance(name)
  local ctx = ngx.ctx
  local state = ctx.ecs_ingress_balancer
  local t = now()
  local live_version
  if state == nil then
    local entry
    entry, live_version = current(name)
    local n = #entry.peers
    if n == 0 then
      -- Leave the peer unset: the placeholder server is `down`, NGINX answers 502, and
      -- header_filter() rewrites it to 503 naming the service.
      ctx.ecs_ingress_no_endpoints = name
      return
    end
    -- The same list for every try of this request, even if a push lands in between.
    state = { peers = entry.peers, version = entry.version, entry = entry, tried = {} }
    ctx.ecs_ingress_balancer = state
    -- NGINX starts the request with as many tries as the upstream has servers that are not
    -- `down`: zero here, because the only server is the `down` placeholder (the first connection
    -- is made regardless; tries only gate the retries). So one try per peer is set_more_tries(n).
    -- With n - 1 the last peer would never be retried. proxy_next_upstream_tries, when the user
    -- sets it, still caps this (set_more_tries then returns a warning).
    local ok, err = set_more_tries(n)
    if not ok then
      ngx.log(ngx.WARN, "ecs-ingress balancer: set_more_tries: ", err)
    elseif err ~= nil then
      ngx.log(ngx.INFO, "ecs-ingress balancer: set_more_tries: ", err)
    end
  else
    live_version = dict:get(VERSION_KEY) or 0
    -- A retry: the previous peer failed (connect error, timeout, or a proxy_next_upstream status).
    local failure = get_last_failure()
    if failure == "failed" and state.last ~= nil then
      failed_until[state.last] = t + FAILURE_TTL
    end
  end
  -- Always the list this request began with, even if a push replaced it between tries; the
  -- cursor is shared (an index into whichever list is current, harmless either way).
  local index = pick(state.peers, state.entry.rr, state.tried, t)
  if index == nil then
    return
  end
  state.entry.rr = index
  local peer = state.peers[index]
  state.tried[peer[3]] = true
  state.last = peer[3]
  record(ctx, peer[3], live_version, state.version)
  local ok, err = set_current_peer(peer[1], peer[2])
  if not ok then
    ngx.log(ngx.ERR, "ecs-ingress balancer: set_current_peer ", peer[3], " for ", name, ": ", err)
  end
end

-- This request's balancer decisions, one "<ip:port>@<live>/<used>" per try joined by commas, or nil when
-- the balancer chose no peer (not proxied, or no endpoint).
function _M.decisions()
  return ngx.ctx.ecs_ingress_decisions
end

-- header_filter_by_lua_block at http level: turns the placeholder's 502 into 503 + header, only for
-- requests whose balancer found no endpoint. Every other response pays one status comparison.
function _M.header_filter()
  if ngx.status ~= 502 then
    return
  end
  local name = ngx.ctx.ecs_ingress_no_endpoints
  if name == nil then
    return
  end
  ngx.status = 503
  ngx.header[_M.NO_ENDPOINTS_HEADER] = name
  ngx.header["Content-Type"] = "text/plain"
  ngx.header["Content-Length"] = nil
  ngx.header["Retry-After"] = "1"
  ngx.ctx.ecs_ingress_rewrite_body = "503 Service Unavailable: no endpoints for service " .. name .. "\n"
end

-- body_filter_by_lua_block at http level: replaces the 502 page by a short text for the rewritten
-- responses above; leaves every other body untouched.
function _M.body_filter()
  if ngx.status ~= 503 then
    return
  end
  local ctx = ngx.ctx
  local replacement = ctx.ecs_ingress_rewrite_body
  if replacement == nil then
    return
  end
  ngx.arg[1] = replacement
  ctx.ecs_ingress_rewrite_body = ""
end

return _M
