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
--   WRK_PATHS   a file of request paths (with their query), each used once:
--               thread i of WRK_THREADS takes lines i, i + WRK_THREADS, ...;
--               a thread stops once its lines are used (in-flight requests on
--               its other connections are then not counted; a request wrk
--               still sends after the stop is a GET /ping). done() prints
--               "paths: RESPONSES ERRORS SECONDS" (SECONDS from the first
--               request to the last response: wrk's own req/s counts its
--               whole -d) - for single-use URLs such as OAuth callbacks
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

-- Monotonic seconds (LuaJIT's ffi: wrk's Lua has no finer clock).
local now
if path_file ~= nil and path_file ~= "" then
	local ffi = require("ffi")
	ffi.cdef [[
		typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
		int clock_gettime(int clk, bench_timespec *ts);
	]]
	local ts = ffi.new("bench_timespec")
	now = function()
		ffi.C.clock_gettime(1, ts)
		return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
	end
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
paths, t_first, t_last, responses, errors = nil, 0, 0, 0, 0

function init(args)
	sets = header_sets()
	if now ~= nil then
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
		-- A request wrk may still send after the stop: a harmless one.
		wrk.thread:stop()
		return wrk.format("GET", "/ping", sets[1])
	end
	if t_first == 0 then
		t_first = now()
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

if now ~= nil then
	function response(status)
		t_last = now()
		responses = responses + 1
		if status > 399 then
			errors = errors + 1
		end
	end

	function done()
		local n, e, t0, t1 = 0, 0, nil, 0
		for _, t in ipairs(all) do
			n = n + t:get("responses")
			e = e + t:get("errors")
			local f = t:get("t_first")
			if f > 0 and (t0 == nil or f < t0) then
				t0 = f
			end
			if t:get("t_last") > t1 then
				t1 = t:get("t_last")
			end
		end
		io.write(string.format("paths: %d %d %.3f\n", n, e, t0 ~= nil and t1 - t0 or 0))
	end
end
