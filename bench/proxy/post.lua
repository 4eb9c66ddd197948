-- post.lua: wrk script: POST the file named by BODY_FILE to /v1/chat/completions.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-not-a-key"
if os.getenv("BYPASS") == "1" then
  wrk.headers["x-headroom-bypass"] = "true"
end
if os.getenv("DELAY_MS") and os.getenv("DELAY_MS") ~= "0" then
  wrk.path = wrk.path .. "?delay=" .. os.getenv("DELAY_MS")
end
