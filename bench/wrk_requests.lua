-- Replays a pool of pre-signed Discord interactions (see bench/_signing.py) and checks
-- every answer: status 200 and the expected callback type in the body. Any other
-- answer makes wrk exit non-zero, because a benchmark of errors measures nothing.
--
-- Usage: wrk -t1 ... -s bench/wrk_requests.lua http://127.0.0.1:P/interactions -- POOL TYPE [START]
--   POOL   file of "<signature hex>\t<timestamp>\t<body>" lines
--   TYPE   the callback type a correct answer carries (1 for PING, 4 for a message)
--   START  how many pool entries earlier runs used (default 0): ids must not repeat
-- Use one wrk thread: each thread walks the pool from START, so two would send the same ids.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local path, expected = args[1], args[2]
   if path == nil or expected == nil then
      io.stderr:write("wrk_requests.lua: usage: -- POOL_FILE EXPECTED_TYPE\n")
      os.exit(3)
   end
   local file = io.open(path, "rb")
   if file == nil then
      io.stderr:write("wrk_requests.lua: cannot open pool " .. path .. "\n")
      os.exit(3)
   end
   pool = {}
   for line in file:lines() do
      local signature, timestamp, body = line:match("^(%x+)\t(%d+)\t(.*)$")
      if body == nil then
         io.stderr:write("wrk_requests.lua: malformed pool line " .. (#pool + 1) .. "\n")
         os.exit(3)
      end
      pool[#pool + 1] = wrk.format("POST", nil, {
         ["Content-Type"] = "application/json",
         ["X-Signature-Ed25519"] = signature,
         ["X-Signature-Timestamp"] = timestamp,
      }, body)
   end
   file:close()
   if #pool == 0 then
      io.stderr:write("wrk_requests.lua: empty pool " .. path .. "\n")
      os.exit(3)
   end
   -- The callback type, followed by the end of the number (a comma, brace or space).
   type_pattern = '"type"%s*:%s*' .. expected .. "[%s,}]"
   index = tonumber(args[3] or "0") % #pool
   wrapped = 0
   responses = 0
   non200 = 0
   badbody = 0
   first_bad = ""
end

function request()
   index = index + 1
   if index > #pool then
      index = 1
      wrapped = wrapped + 1
   end
   return pool[index]
end

function response(status, headers, body)
   responses = responses + 1
   if status ~= 200 then
      non200 = non200 + 1
      if first_bad == "" then
         first_bad = status .. " " .. string.sub(body or "", 1, 200)
      end
   elseif body == nil or not string.find(body, type_pattern) then
      badbody = badbody + 1
      if first_bad == "" then
         first_bad = status .. " " .. string.sub(body or "", 1, 200)
      end
   end
end

function done(summary, latency, requests)
   local total, bad, unexpected, wraps, first, used = 0, 0, 0, 0, "", 0
   for _, thread in ipairs(threads) do
      total = total + thread:get("responses")
      bad = bad + thread:get("non200")
      unexpected = unexpected + thread:get("badbody")
      wraps = wraps + thread:get("wrapped")
      used = math.max(used, thread:get("index"))
      if first == "" then
         first = thread:get("first_bad")
      end
   end
   local e = summary.errors
   local socket_errors = e.connect + e.read + e.write + e.timeout
   io.write(string.format(
      "EDGEBENCH responses=%d non200=%d badbody=%d socket_errors=%d wrapped=%d " ..
      "next=%d p50_us=%d p99_us=%d\n",
      total, bad, unexpected, socket_errors, wraps, used,
      latency:percentile(50), latency:percentile(99)))
   if bad > 0 or unexpected > 0 or socket_errors > 0 or total == 0 then
      io.write("EDGEBENCH FAILED: first bad answer: " .. first .. "\n")
      if wraps > 0 then
         io.write("EDGEBENCH hint: the pool wrapped; replayed ids are refused, enlarge it\n")
      end
      io.stdout:flush()
      os.exit(1)
   end
end
