-- Parser for exactly one JSON shape, the body of POST /endpoints:
--
--   { "services": { "<name>": ["a.b.c.d:port", ...], ... } }
--
-- Debian's lua-nginx-module ships without cjson and the dynamic mode depends only on the packages
-- listed in issue 7, so this is a small recursive-descent reader of that one grammar rather than a
-- general JSON parser. Anything outside the grammar is an error: other top-level keys, nesting,
-- numbers, null, duplicate keys, string escapes (no valid name or endpoint needs one) and control
-- characters. It only parses; the caller checks names and endpoints.

local endpoints = require("ecs_ingress.endpoints")

local _M = {}

local find = string.find
local sub = string.sub
local byte = string.byte

local QUOTE, LBRACE, RBRACE, LBRACKET, RBRACKET, COMMA, COLON = 34, 123, 125, 91, 93, 44, 58

-- Skips JSON whitespace (space, tab, CR, LF) from pos; returns the next position.
local function skip_ws(body, pos)
  local _, stop = find(body, "^[ \t\r\n]*", pos)
  return stop + 1
end

-- Reads a string starting at pos (which must be a quote). Returns the text and the position after
-- the closing quote, or nil and a reason. Strings longer than max_len are refused early.
local function read_string(body, pos, max_len, what)
  if byte(body, pos) ~= QUOTE then
    return nil, "expected a string for " .. what .. " at byte " .. pos
  end
  -- Plain characters only: no quote, no backslash, no control character (0x00-0x1f, 0x7f).
  local _, stop = find(body, '^[^"\\%c]*', pos + 1)
  local close = stop + 1
  if byte(body, close) ~= QUOTE then
    return nil, "unsupported character in " .. what .. " at byte " .. close .. " (escapes and control characters are not accepted)"
  end
  if close - pos - 1 > max_len then
    return nil, what .. " longer than " .. max_len .. " bytes at byte " .. pos
  end
  return sub(body, pos + 1, close - 1), close + 1
end

-- Reads ["...", ...] at pos. Returns the list and the next position, or nil and a reason.
local function read_list(body, pos, max_items, name)
  if byte(body, pos) ~= LBRACKET then
    return nil, "the endpoints of " .. name .. " must be a list of strings"
  end
  local list = {}
  pos = skip_ws(body, pos + 1)
  if byte(body, pos) == RBRACKET then
    return list, pos + 1
  end
  while true do
    local item, after = read_string(body, pos, 21, "an endpoint of " .. name)
    if item == nil then
      return nil, after
    end
    if #list >= max_items then
      return nil, "more than " .. max_items .. " endpoints for " .. name
    end
    list[#list + 1] = item
    pos = skip_ws(body, after)
    local c = byte(body, pos)
    if c == RBRACKET then
      return list, pos + 1
    end
    if c ~= COMMA then
      return nil, "expected , or ] in the endpoints of " .. name .. " at byte " .. pos
    end
    pos = skip_ws(body, pos + 1)
  end
end

-- Reads { "<name>": [...], ... } at pos into an array of { name = ..., endpoints = {...} }.
local function read_services(body, pos, max_items)
  if byte(body, pos) ~= LBRACE then
    return nil, '"services" must be an object'
  end
  local services, seen = {}, {}
  pos = skip_ws(body, pos + 1)
  if byte(body, pos) == RBRACE then
    return services, pos + 1
  end
  while true do
    local name, after = read_string(body, pos, 255, "a service name")
    if name == nil then
      return nil, after
    end
    -- Checked here, before the name appears in any reason, so every echoed name is plain ASCII.
    if not endpoints.is_valid_name(name) then
      return nil, "invalid service name (letters, digits, _ . - only, at most 255)"
    end
    if seen[name] then
      return nil, "duplicate service " .. name
    end
    seen[name] = true
    pos = skip_ws(body, after)
    if byte(body, pos) ~= COLON then
      return nil, "expected : after a service name at byte " .. pos
    end
    pos = skip_ws(body, pos + 1)
    local list
    list, after = read_list(body, pos, max_items, name)
    if list == nil then
      return nil, after
    end
    services[#services + 1] = { name = name, endpoints = list }
    pos = skip_ws(body, after)
    local c = byte(body, pos)
    if c == RBRACE then
      return services, pos + 1
    end
    if c ~= COMMA then
      return nil, "expected , or } in services at byte " .. pos
    end
    pos = skip_ws(body, pos + 1)
  end
end

-- Parses the whole body. Returns an array of { name, endpoints } or nil and a reason.
-- Names in the reason are safe to echo: only strings without quotes, backslashes or control
-- characters ever reach a message.
function _M.parse(body, max_items)
  if type(body) ~= "string" or body == "" then
    return nil, "empty body"
  end
  local pos = skip_ws(body, 1)
  if byte(body, pos) ~= LBRACE then
    return nil, "the body must be a JSON object"
  end
  pos = skip_ws(body, pos + 1)
  local key, after = read_string(body, pos, 16, "the top-level key")
  if key == nil then
    return nil, after
  end
  if key ~= "services" then
    return nil, 'the only top-level key is "services"'
  end
  pos = skip_ws(body, after)
  if byte(body, pos) ~= COLON then
    return nil, 'expected : after "services"'
  end
  pos = skip_ws(body, pos + 1)
  local services
  services, after = read_services(body, pos, max_items)
  if services == nil then
    return nil, after
  end
  pos = skip_ws(body, after)
  if byte(body, pos) ~= RBRACE then
    return nil, 'the only top-level key is "services"'
  end
  pos = skip_ws(body, pos + 1)
  if pos <= #body then
    return nil, "trailing data after the JSON object at byte " .. pos
  end
  return services
end

-- Validates parsed services against the known names and the endpoint rules. Returns an array of
-- { name, value } (value = the stored form) or nil and a reason. Duplicated endpoints in a list
-- are refused: they would silently double a peer's share of the round robin.
function _M.validate(services, known)
  local out = {}
  for i = 1, #services do
    local service = services[i]
    local name = service.name
    if not endpoints.is_valid_name(name) then
      return nil, "invalid service name"
    end
    if not known[name] then
      return nil, "unknown service " .. name
    end
    local seen, normalised = {}, {}
    for j = 1, #service.endpoints do
      local text = service.endpoints[j]
      local host, port = endpoints.parse_endpoint(text)
      if host == nil then
        -- The offending text is not echoed (it may hold any byte); its position is enough.
        return nil, "invalid endpoint #" .. j .. " for " .. name .. " (want a.b.c.d:port, port 1-65535)"
      end
      local canonical = host .. ":" .. port
      if seen[canonical] then
        return nil, "duplicate endpoint " .. canonical .. " for " .. name
      end
      seen[canonical] = true
      normalised[j] = canonical
    end
    out[i] = { name = name, value = table.concat(normalised, " ") }
  end
  return out
end

return _M
