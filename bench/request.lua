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
--   WRK_PATHS   a file of request paths (with their query), each used once,
--               for single-use URLs (OAuth callbacks): thread i of
--               WRK_THREADS takes lines i, i + WRK_THREADS, ...; once they
--               are sent the thread stops (a request wrk still sends after
--               the stop is a GET /ping, not counted; answers still in flight
--               are not counted either). done() prints "paths: RESPONSES
--               ERRORS" (answers > 399); wrk's own req/s counts its whole -d,
--               which it sleeps even when its threads have stopped: bench/run
--               times the row itself
-- Other headers come from wrk's -H options. Without {n} the requests are built
-- once (one per token) at start-up, so wrk's per-request cost stays low.

local method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
local run = os.getenv("WRK_RUN") or tostring(os.time())
local token_file = os.getenv("WRK_TOKENS")
local path_file = os.getenv("WRK_PATHS")
local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")

wrk.method = method
if body == "" then
	body = nil
end
wrk.body = body

local threads, all = 0, {}
function setup(thread)
	threads = threads + 1
	thread:set("thread_id", threads)
	all[#all + 1] = thread
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

-- Globals: done() reads them with thread:get().
paths, responses, errors = nil, 0, 0

function init(args)
	sets = header_sets()
	if path_file ~= nil and path_file ~= "" then
		paths = {}
		local i = 0
		for line in io.lines(path_file) do
			if i % nthreads == (thread_id or 1) - 1 then
				paths[#paths + 1] = line
			end
			i = i + 1
		end
	end
	if not dynamic then
		for i, h in ipairs(sets) do
			requests[i] = wrk.format(nil, nil, h, body)
		end
	end
	next_i = ((thread_id or 1) - 1) % #sets
end

local function path_request()
	count = count + 1
	if count > #paths then
		wrk.thread:stop()
		return wrk.format("GET", "/ping", sets[1])
	end
	return wrk.format(nil, paths[count], sets[1], body)
end

function request()
	if paths ~= nil then
		return path_request()
	end
	next_i = next_i % #sets + 1
	if not dynamic then
		return requests[next_i]
	end
	count = count + 1
	local n = run .. "-" .. tostring(thread_id) .. "-" .. tostring(count)
	return wrk.format(nil, nil, sets[next_i], (body:gsub("{n}", n)))
end

if path_file ~= nil and path_file ~= "" then
	function response(status)
		if count <= #paths then
			responses = responses + 1
			if status > 399 then
				errors = errors + 1
			end
		end
	end

	function done()
		local n, e = 0, 0
		for _, t in ipairs(all) do
			n = n + t:get("responses")
			e = e + t:get("errors")
		end
		io.write(string.format("paths: %d %d\n", n, e))
	end
end
