-- wrk script: POST /api/analytics/ar-session/{id}/end for the ids in ARV_IDS_FILE (one per
-- line), thread i taking every n-th id and cycling when done (a repeated end is a heartbeat).
-- Writes the ids answered 200 to ARV_ACK_DIR/ack-end-<thread>.txt.
local counter = 0
local nthreads = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  nthreads = counter
end

function init(args)
  local threads = tonumber(os.getenv("ARV_THREADS"))
  ids = {}
  local i = 0
  for line in io.lines(os.getenv("ARV_IDS_FILE")) do
    if i % threads == tid - 1 then ids[#ids + 1] = line end
    i = i + 1
  end
  pos = 0
  ack = io.open(os.getenv("ARV_ACK_DIR") .. "/ack-end-" .. tid .. ".txt", "w")
  ack:setvbuf("full", 65536)
  headers = {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = os.getenv("ARV_UA"),
  }
end

function request()
  pos = pos % #ids + 1
  local path = "/api/analytics/ar-session/" .. ids[pos] .. "/end"
  return wrk.format("POST", path, headers,
    '{"duration_seconds":42.4,"tracked_seconds":30,"target_losses":1,"video_played":true}')
end

function response(status, hdrs, body)
  if status == 200 then
    local sid = body:match('"session_id":"([0-9a-f%-]+)"')
    if sid then ack:write(sid, "\n") end
  end
end
