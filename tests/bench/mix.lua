-- wrk script: replays a request mix, one request per line of the file named
-- by the MIX environment variable: "METHOD<TAB>PATH<TAB>FORM". POST bodies
-- and GET query strings are byte for byte what RabbitMQ 3.10 sends.
-- Each wrk thread starts at its own offset so threads do not move in step.

local requests = {}
local next_index = 1
local threads = 0

function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end

function init(args)
  local path = os.getenv("MIX")
  local file = assert(io.open(path, "r"), "cannot open MIX file " .. tostring(path))
  for line in file:lines() do
    local method, target, form = line:match("^(%u+)\t([^\t]+)\t(.*)$")
    if method == "POST" then
      requests[#requests + 1] = wrk.format("POST", target,
        { ["Content-Type"] = "application/x-www-form-urlencoded" }, form)
    elseif method == "GET" then
      requests[#requests + 1] = wrk.format("GET", target .. "?" .. form)
    end
  end
  file:close()
  assert(#requests > 0, "empty mix")
  next_index = (offset or 0) % #requests + 1
end

function request()
  local r = requests[next_index]
  next_index = next_index % #requests + 1
  return r
end
