/// The Lua scripts behind `RedisQuotaStore`: `InMemoryQuotaStore`'s arithmetic, operation for
/// operation, so a run against Redis makes the same decisions as the in-memory reference (a
/// test compares them call by call).
///
/// Reservations included: a take that would wait at most `reserve_within` seconds is charged
/// now and answered with its slot (`'2'`), so workers get slots in the order they ask.
///
/// Numbers travel as strings that round-trip exactly (Swift's shortest representation in,
/// `%.17g` out) and results come back as strings: a Lua number returned to Redis would be
/// truncated to an integer. `min`/`max` are Swift's (`y < x ? y : x`, `y >= x ? y : x`), not
/// Lua's `math.min`/`math.max`, so even NaN and signed zeros fall the same way.
///
/// Keys (one per script call, `KEYS[1]`, so each call is atomic and cluster-safe):
/// - token bucket `<prefix>tb:<key>`: a string `"updatedAt level1 level2 …"`;
/// - GCRA `<prefix>gcra:<key>`: a string holding the theoretical arrival time (TAT).
///
/// Every write sets `PX` to the time until the state equals a missing key (bucket full again /
/// TAT passed) plus `slack_ms`, capped at `max_ttl_ms`: idle keys vanish, and a key only
/// vanishes when its absence means the same thing.
enum QuotaScripts {
    static let prelude = """
        local function num(s)
          if s == 'inf' then return math.huge elseif s == '-inf' then return -math.huge end
          local v = tonumber(s)
          if v == nil then error('limitlab: not a number: ' .. tostring(s)) end
          return v
        end
        local function smin(x, y) if y < x then return y end return x end
        local function smax(x, y) if y >= x then return y end return x end
        local function fmt(x) return string.format('%.17g', x) end
        local function px(seconds, slack, maxttl)
          local ms = smin(maxttl, math.ceil(smax(0, seconds) * 1000) + slack)
          if ms < 1 then ms = 1 end
          return string.format('%.0f', ms)
        end

        """

    /// Shared by the two token-bucket scripts. ARGV: now, n, slack_ms, max_ttl_ms, then n each
    /// of amounts (costs or adjustments), capacities, refill rates (`takeTokens` adds one more).
    static let bucket = prelude + """
        local now = num(ARGV[1])
        local n = tonumber(ARGV[2])
        local slack = num(ARGV[3])
        local maxttl = num(ARGV[4])
        local amount, cap, rate = {}, {}, {}
        for d = 1, n do
          amount[d] = num(ARGV[4 + d]); cap[d] = num(ARGV[4 + n + d]); rate[d] = num(ARGV[4 + 2 * n + d])
        end
        local levels, updated = {}, now
        local raw = redis.call('GET', KEYS[1])
        local parts = {}
        if raw then for w in string.gmatch(raw, '%S+') do parts[#parts + 1] = num(w) end end
        if #parts == n + 1 then
          updated = parts[1]
          local dt = smax(0, now - updated)
          for d = 1, n do levels[d] = smin(cap[d], parts[d + 1] + rate[d] * dt) end
          updated = smax(updated, now)
        else
          for d = 1, n do levels[d] = cap[d] end
        end
        local function store()
          local full = 0
          for d = 1, n do
            local missing = cap[d] - levels[d]
            if missing > 0 then
              if rate[d] > 0 then full = smax(full, missing / rate[d]) else full = math.huge end
            end
          end
          local out = {fmt(updated)}
          for d = 1, n do out[d + 1] = fmt(levels[d]) end
          redis.call('SET', KEYS[1], table.concat(out, ' '), 'PX', px(smax(0, updated - now) + full, slack, maxttl))
        end

        """

    /// ARGV as `bucket`, then reserve_within (seconds, `inf` for no limit). Reply: `{'1', '0'}`
    /// allowed now, `{'2', wait}` reserved (charged now, slot `wait` seconds ahead), `{'0', wait}`
    /// refused.
    static let takeTokens = bucket + """
        local within = num(ARGV[5 + 3 * n])
        local wait = 0
        for d = 1, n do
          local need = smin(amount[d], cap[d])
          local short = need - levels[d]
          if short > 1e-9 * smax(1, cap[d]) then
            local w
            if rate[d] > 0 then w = short / rate[d] else w = math.huge end
            wait = smax(wait, w)
          end
        end
        local reserve = wait ~= 0 and wait <= within and wait < math.huge
        if wait ~= 0 and not reserve then
          store()
          return {'0', fmt(wait)}
        end
        for d = 1, n do levels[d] = levels[d] - amount[d] end
        store()
        if reserve then return {'2', fmt(wait)} end
        return {'1', '0'}
        """

    static let adjustTokens = bucket + """
        for d = 1, n do levels[d] = smin(cap[d], levels[d] - amount[d]) end
        store()
        return {'1', '0'}
        """

    /// ARGV: now, quantity, emission interval, tolerance, slack_ms, max_ttl_ms, reserve_within.
    /// Reply as `takeTokens`.
    static let takeGCRA = prelude + """
        local now = num(ARGV[1])
        local q = num(ARGV[2])
        local t = num(ARGV[3])
        local tau = num(ARGV[4])
        local slack = num(ARGV[5])
        local maxttl = num(ARGV[6])
        local within = num(ARGV[7])
        local stored = now
        local raw = redis.call('GET', KEYS[1])
        if raw then stored = num(raw) end
        local tat = smax(now, stored)
        local allow_at = tat + t * q - tau
        local reserve = false
        if allow_at > now + 1e-9 * smax(1, now) then
          local wait = allow_at - now
          if not (wait <= within and wait < math.huge) then return {'0', fmt(wait)} end
          reserve = true
        end
        local new_tat = tat + t * q
        redis.call('SET', KEYS[1], fmt(new_tat), 'PX', px(new_tat - now, slack, maxttl))
        if reserve then return {'2', fmt(allow_at - now)} end
        return {'1', '0'}
        """
}
