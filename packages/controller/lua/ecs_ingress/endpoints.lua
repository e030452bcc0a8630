-- Shared pieces of the dynamic upstream mode (issue 7): the shared dictionary, how endpoint lists
-- are stored in it, and the validation rules both the control handler and init() apply.
--
-- Storage: key "s:<service>" holds the service's endpoints joined by single spaces
-- ("10.0.0.1:8080 10.0.0.2:8080", "" for none); key "version" is a counter bumped after every
-- accepted push. Values are only ever written after validation, so readers split them without
-- re-checking.

local _M = {}

_M.DICT_NAME = "ecs_ingress_endpoints"
_M.VERSION_KEY = "version"

-- Same rule as the renderer's isSafeUpstreamName: safe verbatim in NGINX config, a Lua string
-- literal and a JSON string (no quote, backslash or control character). ECS allows 255 characters.
local NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]*$"
local NAME_MAX_LEN = 255

function _M.dict()
  local dict = ngx.shared[_M.DICT_NAME]
  if dict == nil then
    error("ecs-ingress: lua_shared_dict " .. _M.DICT_NAME .. " is not declared in the http context", 2)
  end
  return dict
end

function _M.service_key(name)
  return "s:" .. name
end

function _M.is_valid_name(name)
  return type(name) == "string" and #name <= NAME_MAX_LEN and name:find(NAME_PATTERN) ~= nil
end

local function octet_ok(text)
  -- 1-3 digits, no leading zero (an "010" is octal to some parsers and ambiguous), at most 255.
  if #text > 1 and text:byte(1) == 48 then
    return false
  end
  return tonumber(text) <= 255
end

-- Strictly "a.b.c.d:port": IPv4 dotted quad, octets 0-255, port 1-65535, digits only, no
-- leading zeros, nothing before or after. Returns host, port (number) or nil.
function _M.parse_endpoint(text)
  if type(text) ~= "string" or #text > 21 then
    return nil
  end
  local a, b, c, d, port = text:match("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?):(%d%d?%d?%d?%d?)$")
  if a == nil then
    return nil
  end
  if not (octet_ok(a) and octet_ok(b) and octet_ok(c) and octet_ok(d)) then
    return nil
  end
  if port:byte(1) == 48 then
    return nil
  end
  local port_number = tonumber(port)
  if port_number < 1 or port_number > 65535 then
    return nil
  end
  return a .. "." .. b .. "." .. c .. "." .. d, port_number
end

-- Splits a stored value back into a list of "ip:port" strings.
function _M.split(value)
  local list = {}
  if value == nil or value == "" then
    return list
  end
  for item in value:gmatch("[^ ]+") do
    list[#list + 1] = item
  end
  return list
end

return _M
