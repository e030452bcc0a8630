-- Control endpoint of the dynamic upstream mode (issue 7), served on the internal loopback control
-- server:
--
--   POST /endpoints  {"services":{"web":["10.0.0.1:8080",...],...}}
--       Each listed service's endpoint list is REPLACED by the given (full) list; services not
--       listed keep theirs. Everything is validated before anything is written: a body that is
--       malformed, too large, names an unknown service or holds one bad endpoint gets 400 (413 for
--       size) and changes nothing. Success: 200 {"version":N}, N = the new version counter.
--   GET  /endpoints  200 {"version":N,"services":{"web":[...],...}} (every known service)
--
-- Known services come from init(names), called in init_by_lua_block of the rendered preamble. The
-- controller re-renders and reloads NGINX whenever the set of services changes, so the set is
-- fixed for the lifetime of a worker generation.

local endpoints = require("ecs_ingress.endpoints")
local push_body = require("ecs_ingress.push_body")

local _M = {}

-- Defaults; init() may lower or raise them. The body limit matches the preamble's
-- client_max_body_size (1m); 10,000 endpoints per service is far above ECS's service quotas.
local limits = {
  max_body_bytes = 1024 * 1024,
  max_endpoints = 10000,
}

local known = {}
local known_sorted = {}

-- init(names [, options]) — in init_by_lua_block, so it runs in the master at every (re)load and
-- `nginx -t`, and the workers inherit the table through fork. A bad name or a missing shared
-- dictionary raises an error, which makes `nginx -t` fail rather than start half-configured.
function _M.init(names, options)
  if type(names) ~= "table" then
    error("ecs_ingress.control.init: names must be a list of service names", 2)
  end
  local next_known, next_sorted = {}, {}
  for i = 1, #names do
    local name = names[i]
    if not endpoints.is_valid_name(name) then
      error("ecs_ingress.control.init: invalid service name at position " .. i, 2)
    end
    if not next_known[name] then
      next_known[name] = true
      next_sorted[#next_sorted + 1] = name
    end
  end
  table.sort(next_sorted)
  if options ~= nil then
    for key, value in pairs(options) do
      if limits[key] == nil or type(value) ~= "number" or value < 1 or value % 1 ~= 0 then
        error("ecs_ingress.control.init: bad option " .. tostring(key), 2)
      end
      limits[key] = value
    end
  end
  endpoints.dict()
  known, known_sorted = next_known, next_sorted
  -- Loading the balancer here puts its code in the master, shared by every worker after fork.
  require("ecs_ingress.balancer")
end

-- Names are validated to [A-Za-z0-9_.-] and endpoints to digits, dots and a colon, so the only
-- strings that need escaping in a response are reasons; those are built from the same safe pieces
-- plus fixed text, but escape quotes and backslashes anyway.
local function json_string(text)
  return '"' .. text:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function respond(status, body)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Cache-Control"] = "no-store"
  -- The handler simply returns after this; the content phase ends with the buffered output.
  ngx.say(body)
end

local function reject(status, reason)
  ngx.log(ngx.WARN, "ecs-ingress control: rejected push: ", reason)
  return respond(status, '{"error":' .. json_string(reason) .. "}")
end

local function read_body()
  local declared = tonumber(ngx.var.http_content_length or "")
  if declared ~= nil and declared > limits.max_body_bytes then
    return nil, 413, "body larger than " .. limits.max_body_bytes .. " bytes"
  end
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body == nil then
    -- NGINX spilled the body to a temp file: client_body_buffer_size is below the body size.
    -- The preamble sets them equal; still read it, but never more than the limit.
    local path = ngx.req.get_body_file()
    if path == nil then
      return nil, 400, "empty body"
    end
    local file = io.open(path, "rb")
    if file == nil then
      return nil, 500, "cannot read the buffered body"
    end
    body = file:read(limits.max_body_bytes + 1)
    file:close()
  end
  if body == nil or body == "" then
    return nil, 400, "empty body"
  end
  if #body > limits.max_body_bytes then
    return nil, 413, "body larger than " .. limits.max_body_bytes .. " bytes"
  end
  return body
end

-- Writes every validated service or, if the dictionary runs out of memory part-way, puts back the
-- values it had already replaced. safe_set never evicts other keys (plain set would silently drop
-- the least recently used services to make room).
local function store(dict, updates)
  local previous = {}
  for i = 1, #updates do
    local key = endpoints.service_key(updates[i].name)
    previous[i] = dict:get(key)
    local ok, err = dict:safe_set(key, updates[i].value)
    if not ok then
      for j = i - 1, 1, -1 do
        local old_key = endpoints.service_key(updates[j].name)
        if previous[j] == nil then
          dict:delete(old_key)
        else
          dict:safe_set(old_key, previous[j])
        end
      end
      return nil, err
    end
  end
  return true
end

local function handle_post()
  local body, status, reason = read_body()
  if body == nil then
    return reject(status, reason)
  end
  local services, parse_error = push_body.parse(body, limits.max_endpoints)
  if services == nil then
    return reject(400, parse_error)
  end
  local updates, invalid = push_body.validate(services, known)
  if updates == nil then
    return reject(400, invalid)
  end
  local dict = endpoints.dict()
  local ok, err = store(dict, updates)
  if not ok then
    -- Bump anyway so no worker keeps a cache that might mirror a half-written state.
    dict:incr(endpoints.VERSION_KEY, 1, 0)
    ngx.log(ngx.ERR, "ecs-ingress control: shared dict ", endpoints.DICT_NAME, " full: ", err)
    return respond(507, '{"error":' .. json_string("shared dict full: " .. tostring(err)) .. "}")
  end
  -- Bumped after the writes: a worker that sees the new version is guaranteed to read new values.
  local version = dict:incr(endpoints.VERSION_KEY, 1, 0)
  return respond(200, '{"version":' .. string.format("%d", version) .. "}")
end

local function handle_get()
  local dict = endpoints.dict()
  local parts = {}
  for i = 1, #known_sorted do
    local name = known_sorted[i]
    local list = endpoints.split(dict:get(endpoints.service_key(name)))
    for j = 1, #list do
      list[j] = '"' .. list[j] .. '"'
    end
    parts[i] = json_string(name) .. ":[" .. table.concat(list, ",") .. "]"
  end
  local version = dict:get(endpoints.VERSION_KEY) or 0
  return respond(
    200,
    '{"version":' .. string.format("%d", version) .. ',"services":{' .. table.concat(parts, ",") .. "}}"
  )
end

-- content_by_lua handler of `location = /endpoints`.
function _M.handle()
  local method = ngx.req.get_method()
  if method == "POST" then
    return handle_post()
  end
  if method == "GET" or method == "HEAD" then
    return handle_get()
  end
  ngx.header["Allow"] = "GET, POST"
  return respond(405, '{"error":"method not allowed"}')
end

-- Optional content_by_lua handler for `location = /healthz` on the control server.
function _M.healthz()
  local version = endpoints.dict():get(endpoints.VERSION_KEY) or 0
  return respond(200, '{"version":' .. string.format("%d", version) .. ',"services":' .. #known_sorted .. "}")
end

-- The known service names, sorted (tests and debugging).
function _M.known_services()
  return known_sorted
end

return _M
