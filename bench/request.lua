-- bench/request.lua - wrk script for bench/run: one request shape, taken from the environment.
--
--   WRK_METHOD  GET, POST, ... (default GET)
--   WRK_BODY    request body (default none); every "{n}" in it becomes a
--               string unique to this request ("<run>-<thread>-<count>"), so
--               e.g. each POST /session-token upserts a new linked account
--   WRK_RUN     the "<run>" part of {n} (default: the time); bench/run passes
--               a fresh one to each wrk invocation
--   WRK_TOKENS  a file of "TOKEN JTI SHA256HEX COMPANY" lines: requests take
--               them in turn (each thread starting at its own line) as
--               "Authorization: Bearer TOKEN", plus "X-Bench-Jti: JTI",
--               "X-Bench-Token-Sha256: SHA256HEX" and "X-Bench-Company: COMPANY"
--               - what hostlinkd derives from the token, for the floor, which
--               does not verify tokens
-- Other headers come from wrk's -H options. Without {n} the requests are built
-- once (one per token) at start-up, so wrk's per-request cost stays low.

local method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
local run = os.getenv("WRK_RUN") or tostring(os.time())
local token_file = os.getenv("WRK_TOKENS")

wrk.method = method
if body == "" then
	body = nil
end
wrk.body = body

local threads = 0
function setup(thread)
	threads = threads + 1
	thread:set("thread_id", threads)
end

-- Header sets, one per token (or just wrk's own headers).
local function header_sets()
	local sets = {}
	if token_file == nil or token_file == "" then
		return { wrk.headers }
	end
	for line in io.lines(token_file) do
		local token, jti, sha, company = line:match("^(%S+) (%S+) (%S+) (%S+)$")
		if token ~= nil then
			local h = {}
			for k, v in pairs(wrk.headers) do
				h[k] = v
			end
			h["Authorization"] = "Bearer " .. token
			h["X-Bench-Jti"] = jti
			h["X-Bench-Token-Sha256"] = sha
			h["X-Bench-Company"] = company
			sets[#sets + 1] = h
		end
	end
	assert(#sets > 0, "no tokens in " .. token_file)
	return sets
end

local sets, requests, next_i, count = nil, {}, 0, 0
local dynamic = body ~= nil and body:find("{n}", 1, true) ~= nil

function init(args)
	sets = header_sets()
	if not dynamic then
		for i, h in ipairs(sets) do
			requests[i] = wrk.format(nil, nil, h, body)
		end
	end
	next_i = ((thread_id or 1) - 1) % #sets
end

function request()
	next_i = next_i % #sets + 1
	if not dynamic then
		return requests[next_i]
	end
	count = count + 1
	local n = run .. "-" .. tostring(thread_id) .. "-" .. tostring(count)
	return wrk.format(nil, nil, sets[next_i], (body:gsub("{n}", n)))
end
