-- wrk script for the submit benchmark: POSTs pre-built multipart bodies, one per one-time form token,
-- read from a file bench/run.py writes (each body preceded by a line with its length in bytes and the
-- resident's address, sent as X-Forwarded-For).
-- Arguments after "--": the file, the Cookie header, the multipart boundary, the number of threads.
-- A thread that runs out of bodies replays its first one and reports "exhausted": such a run is void,
-- because a replay is answered from the stored receipt and costs the server less than a new essay.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local path, cookie, boundary, nthreads = args[1], args[2], args[3], tonumber(args[4])
  bodies, addresses = {}, {}
  local file = assert(io.open(path, "rb"))
  local index = 0
  while true do
    local line = file:read("*l")
    if not line then break end
    local size, address = line:match("^(%d+) (%S+)$")
    local body = file:read(tonumber(size))
    if index % nthreads == id then
      table.insert(bodies, body)
      table.insert(addresses, address)
    end
    index = index + 1
  end
  file:close()
  headers = { ["Content-Type"] = "multipart/form-data; boundary=" .. boundary, ["Cookie"] = cookie }
  position, accepted, refused, exhausted = 1, 0, 0, 0
end

function request()
  local body, address = bodies[position], addresses[position]
  if body == nil then
    exhausted = 1
    body, address = bodies[1], addresses[1]
  end
  position = position + 1
  headers["X-Forwarded-For"] = address
  return wrk.format("POST", "/submit", headers, body)
end

function response(status, response_headers, body)
  if status == 303 then accepted = accepted + 1 else refused = refused + 1 end
end

function done(summary, latency, requests)
  local a, r, e = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("accepted")
    r = r + thread:get("refused")
    e = e + thread:get("exhausted")
  end
  io.write(string.format("SUBMIT accepted=%d refused=%d exhausted=%d\n", a, r, e))
end
