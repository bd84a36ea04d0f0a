-- Sends a pool of pre-built raw HTTP requests round-robin and counts the answers by class.
-- Stops itself after LIMIT answers (wrk's -d is only the upper bound in time); the
-- latency line is printed only when -d ends the run first.
--
-- Usage: wrk -t1 -cN -dMAXs -s bench/wrk_hostile.lua http://127.0.0.1:P -- POOL LIMIT [START]
--   POOL   "<length>\n<raw request bytes>" entries, written by bench/soak_hostile.py
--   LIMIT  answers after which the run stops
--   START  pool entries earlier runs used (the next run continues from there)

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local file = io.open(args[1], "rb")
   if file == nil then
      io.stderr:write("wrk_hostile.lua: cannot open pool " .. tostring(args[1]) .. "\n")
      os.exit(3)
   end
   pool = {}
   while true do
      local header = file:read("*l")
      if header == nil then break end
      pool[#pool + 1] = file:read(tonumber(header))
   end
   file:close()
   limit = tonumber(args[2])
   next_i = tonumber(args[3] or "0")
   responses, s2, s3, s4, s5 = 0, 0, 0, 0, 0
end

function request()
   next_i = next_i % #pool + 1
   return pool[next_i]
end

function response(status, headers, body)
   responses = responses + 1
   if status >= 500 then
      s5 = s5 + 1
   elseif status >= 400 then
      s4 = s4 + 1
   elseif status >= 300 then
      s3 = s3 + 1
   else
      s2 = s2 + 1
   end
   if responses >= limit then
      -- wrk:stop() would end this thread but wrk itself waits out -d: report and leave.
      report(responses, s2, s3, s4, s5, next_i)
      io.stdout:flush()
      os.exit(0)
   end
end

function report(r, a, b, c, d, n)
   io.write(string.format(
      "HOSTILESOAK responses=%d s2xx=%d s3xx=%d s4xx=%d s5xx=%d next=%d\n", r, a, b, c, d, n))
end

function done(summary, latency, requests)
   for _, t in ipairs(threads) do
      report(t:get("responses"), t:get("s2"), t:get("s3"), t:get("s4"), t:get("s5"),
             t:get("next_i"))
   end
   io.write(string.format("HOSTILESOAK p99_ms=%.2f max_ms=%.2f socket_errors=%d\n",
      latency:percentile(99) / 1000, latency.max / 1000,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
