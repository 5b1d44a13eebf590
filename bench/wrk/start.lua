-- wrk script: POST /api/analytics/ar-session with a fresh UUID v4 session id per request.
-- Environment: ARV_CONTENT_UID (content unique id) or ARV_CONTENT_UIDS (several), ARV_ACK_DIR (where each thread writes
-- the session ids answered 200, one per line, to ack-start-<thread>.txt), ARV_UA; ARV_RANDOM_IPS=1: each start
-- comes from a random IPv4 address in X-Forwarded-For (a new visitor per start; the server needs
-- ARV_TRUSTED_PROXIES=127.0.0.1), instead of every start being the same visitor.
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

function init(args)
  math.randomseed(os.time() * 7919 + tid * 104729 + math.floor(os.clock() * 1e6))
  -- ARV_CONTENT_UIDS: several contents, comma-separated, one picked at random per start.
  contents = {}
  for uid in string.gmatch(os.getenv("ARV_CONTENT_UIDS") or os.getenv("ARV_CONTENT_UID"), "[^,]+") do
    contents[#contents + 1] = uid
  end
  ack = io.open(os.getenv("ARV_ACK_DIR") .. "/ack-start-" .. tid .. ".txt", "w")
  ack:setvbuf("full", 65536)
  headers = {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = os.getenv("ARV_UA"),
  }
end

local random = math.random
local fmt = string.format

local function uuid4()
  return fmt("%08x-%04x-4%03x-%04x-%04x%08x",
    random(0, 0x7fffffff) * 2 + random(0, 1), random(0, 0xffff), random(0, 0xfff),
    random(0x8000, 0xbfff), random(0, 0xffff), random(0, 0x7fffffff) * 2 + random(0, 1))
end

local random_ips = os.getenv("ARV_RANDOM_IPS") == "1"

function request()
  local content = contents[random(1, #contents)]
  local body = '{"ar_content_unique_id":"' .. content .. '","session_id":"' .. uuid4()
    .. '","tracking_quality":"good","video_played":true,"time_to_first_found_ms":850}'
  if random_ips then
    headers["X-Forwarded-For"] = fmt("%d.%d.%d.%d", random(1, 223), random(0, 255),
      random(0, 255), random(1, 254))
  end
  return wrk.format("POST", "/api/analytics/ar-session", headers, body)
end

function response(status, hdrs, body)
  if status == 200 then
    local sid = body:match('"session_id":"([0-9a-f%-]+)"')
    if sid then ack:write(sid, "\n") end
  end
end
