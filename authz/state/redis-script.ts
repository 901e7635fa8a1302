/**
 * The one Lua script a check runs in Redis (EVALSHA, EVAL on NOSCRIPT): it reads and updates
 * a scope's session record, revocation marker, id window and behaviour counters atomically
 * and returns the decision inputs as JSON. It mirrors MemoryStateStore.observeOne step by
 * step; the shared test suite runs every scenario against both.
 *
 * KEYS (all share the hash tag `{ref}`, so the script runs on one Redis Cluster slot):
 *   1 record hash  2 revocation marker  3 integer-id window (zset)  4 hashed-id ring (zset)
 *   5… one key per counter; a `distinct` counter takes two (current, previous window)
 * ARGV[1]: the observation as JSON (see RedisStateStore.encode).
 */
export const OBSERVE_SCRIPT = String.raw`
local o = cjson.decode(ARGV[1])
local now = o.now
local rec = KEYS[1]
local res = {rv = 0, su = 0, sr = '', ex = '', rn = 0, mm = '', bv = '', tf = '', rp = -1, gp = -1, gd = '', to = -1, sn = 0, fr = 0, c = {}}
local blocked = false
local suspendWith = ''
local function apply(effect, reason)
  if effect == 'none' then return end
  blocked = true
  if effect == 'suspend' and suspendWith == '' then suspendWith = reason end
end
local function num(v) if v then return tonumber(v) end return nil end
local function fmt(v) return string.format('%.17g', v) end

if (num(redis.call('GET', KEYS[2])) or 0) > now then res.rv = 1; blocked = true end
local s = o.s
-- One read for the whole record: fields 1-8, then the bound values in s.bind order.
local fields = {'su', 'sr', 'ca', 'ls', 'co', 'ct', 'h', 'n'}
if s then for _, pair in ipairs(s.bind or {}) do fields[#fields + 1] = 'b:' .. pair[1] end end
local f = redis.call('HMGET', rec, unpack(fields))
local su0 = num(f[1]) or 0
if su0 > now then
  res.su = su0
  res.sr = f[2] or ''
  blocked = true
end
-- From here f[1..6] are ca, ls, co, ct, h, n and f[6 + i] the i-th bound value.
local g = {}
for i = 3, #fields do g[i - 2] = f[i] end
f = g

local H0 = nil
local n0 = 0
local ca = nil
local ls0 = nil
local fresh = false
if s then
  ca = num(f[1])
  ls0 = num(f[2])
  fresh = ca == nil
  if not fresh then
    if now - ca > s.life then res.ex = 'lifetime' elseif now - num(f[2]) > s.idle then res.ex = 'idle' end
    if res.ex ~= '' then
      if s.renew then fresh = true; res.rn = 1 else blocked = true end
    end
  end
  if fresh then
    for _, field in ipairs(redis.call('HKEYS', rec)) do
      if field ~= 'su' and field ~= 'sr' then redis.call('HDEL', rec, field) end
    end
    redis.call('DEL', KEYS[3], KEYS[4])
    redis.call('HSET', rec, 'k', s.kind, 'lb', s.label, 'cl', s.cl, 'pr', s.pr, 'ca', now, 'ls', now, 'n', 0, 'co', s.co, 'ct', now)
    -- A brand-new record (not a renewal): the store counts it against its source.
    if res.rn == 0 then res.fr = 1 end
    for _, pair in ipairs(s.bind or {}) do redis.call('HSET', rec, 'b:' .. pair[1], pair[2]) end
    ca = now
  elseif res.ex == '' then
    H0 = num(f[5])
    n0 = num(f[6]) or 0
    for bi, pair in ipairs(s.bind or {}) do
      local v = f[6 + bi]
      if not v or (v == '' and pair[2] ~= '') then
        redis.call('HSET', rec, 'b:' .. pair[1], pair[2])
      elseif v ~= pair[2] then
        res.mm = pair[1]; res.bv = v
        break
      end
    end
    if res.mm ~= '' then apply(s.mme, 'binding-mismatch') end
    local co = f[3] or ''
    if s.co ~= '' and s.tmin > 0 and co ~= '' and co ~= s.co and now - (num(f[4]) or 0) < s.tmin then
      res.tf = co
      apply(s.te, 'impossible-travel')
    end
  else
    H0 = num(f[5])
    n0 = num(f[6]) or 0
  end

  local W = s.w
  local H = H0
  local seenI, seenH = {}, {}
  for i, id in ipairs(s.ids or {}) do
    if id.t == 'h' then
      local known = seenH[id.v]
      if not known then
        local sc = redis.call('ZSCORE', KEYS[4], id.v)
        if sc and (s.rw == 0 or now - tonumber(sc) <= s.rw) then known = true end
      end
      if known and res.rp < 0 then res.rp = i - 1 end
      seenH[id.v] = true
    else
      local v = id.v
      local skip = false
      if H == nil then
        H = v
      elseif v > H then
        if v - H > W and res.gp < 0 then res.gp = i - 1; res.gd = 'forward' end
        H = v
      elseif v < H - W then
        -- Below the window nothing says whether this id was used: it cannot be proven fresh.
        if res.to < 0 then res.to = i - 1 end
        skip = true
      end
      if not skip then
        local known = seenI[v]
        if not known and H0 ~= nil and v <= H0 and v >= H0 - W then
          known = redis.call('ZSCORE', KEYS[3], string.format('%d', v)) ~= false
        end
        if known and res.rp < 0 then res.rp = i - 1 end
        seenI[v] = true
      end
    end
  end
  if res.rp >= 0 then apply(s.re, 'id-replay') end
  if res.to >= 0 then apply(s.re, 'id-too-old') end
  if res.gp >= 0 then apply(s.ge, 'id-gap') end
end

local maxWindow = 0
local ki = 5
-- Stage 7 fails fast: a request refused for the session's integrity never reaches the counters.
local counted = o.c or {}
if blocked then counted = {} end
for j, c in ipairs(counted) do
  local key = KEYS[ki]
  ki = ki + 1
  local value, exceeded = 0, false
  local ttl
  if c.k == 'bucket' then
    local f = redis.call('HMGET', key, 't', 'ts', 'x')
    local tokens = num(f[1]) or c.cap
    local ts = num(f[2]) or now
    tokens = math.min(c.cap, tokens + math.max(0, now - ts) * c.rate)
    exceeded = true
    if tokens >= c.cost then tokens = tokens - c.cost; exceeded = false end
    ttl = c.cap / math.max(c.rate, 1e-9)
    -- The TTL (2 x refill time, set at x) is renewed once half of it has passed, so the key
    -- outlives the last write by at least one refill time, after which the bucket is full.
    local x = num(f[3])
    if x == nil or now - x >= ttl then
      redis.call('HSET', key, 't', fmt(tokens), 'ts', now, 'x', now)
      c.touch = true
    else
      redis.call('HSET', key, 't', fmt(tokens), 'ts', now)
    end
    value = math.floor(tokens)
  elseif c.k == 'window' then
    local idx = math.floor(now / c.win)
    local f = redis.call('HMGET', key, 'i', 'c', 'p', 'l')
    local i, cur, prev, last = num(f[1]) or idx, num(f[2]) or 0, num(f[3]) or 0, num(f[4])
    if f[1] == false or i ~= idx then c.touch = true end
    if i ~= idx then
      if i == idx - 1 then prev = cur else prev = 0 end
      cur = 0
    end
    local counts = true
    if c.seq ~= nil then
      local step = 0
      if last ~= nil then step = math.abs(c.seq - last) end
      counts = step > 0 and step <= c.step
    end
    if counts then cur = cur + 1 end
    if c.seq ~= nil then
      redis.call('HSET', key, 'i', idx, 'c', cur, 'p', prev, 'l', fmt(c.seq))
    else
      redis.call('HSET', key, 'i', idx, 'c', cur, 'p', prev)
    end
    value = prev * (1 - (now - idx * c.win) / c.win) + cur
    exceeded = value > c.th
    ttl = c.win
  elseif c.k == 'distinct' then
    local prevKey = KEYS[ki]
    ki = ki + 1
    local idx = math.floor(now / c.win)
    local card = redis.call('SCARD', key)
    -- Over the threshold nothing more is added; SADD answers 0 for a value already counted.
    if card <= c.th and redis.call('SISMEMBER', prevKey, c.m) == 0 then
      card = card + redis.call('SADD', key, c.m)
    end
    if card == 1 then redis.call('PEXPIRE', key, math.ceil(2 * c.win)) end
    value = redis.call('SCARD', prevKey) * (1 - (now - idx * c.win) / c.win) + card
    exceeded = value > c.th
    ttl = c.win
  elseif c.k == 'burst' then
    local idx = math.floor(now / c.bucket)
    local f = redis.call('HMGET', key, 'i', 'c', 'b', 'n')
    local i, cur, base, n = num(f[1]) or idx, num(f[2]) or 0, num(f[3]) or 0, num(f[4]) or 0
    if f[1] == false or idx > i then c.touch = true end
    if idx > i then
      local k = idx - i
      base = (base * (1 - c.alpha) + cur * c.alpha) * ((1 - c.alpha) ^ (k - 1))
      n = n + k
      cur = 0
      i = idx
    end
    cur = cur + c.cost
    redis.call('HSET', key, 'i', i, 'c', cur, 'b', fmt(base), 'n', n)
    value = cur
    exceeded = n >= c.hist and cur >= c.min and cur > c.factor * math.max(base, 1)
    ttl = c.bucket * 20
  end
  -- A window's state matters until the end of the next window: refreshing the TTL when a
  -- window starts is enough (a bucket's until it is full again: on every write).
  if c.touch then redis.call('PEXPIRE', key, math.ceil(2 * ttl)) end
  if ttl > maxWindow then maxWindow = ttl end
  res.c[j] = {value, exceeded and 1 or 0}
  if exceeded then apply(c.e, c.id) end
end

local hashed = false
local firstId = false
if s and not blocked then
  local W = s.w
  local H = H0
  for _, id in ipairs(s.ids or {}) do
    if id.t == 'h' then
      redis.call('ZADD', KEYS[4], now, id.v)
      hashed = true
    elseif H == nil or id.v >= H - W then
      if H == nil or id.v > H then H = id.v end
      redis.call('ZADD', KEYS[3], id.v, string.format('%d', id.v))
    end
  end
  firstId = H0 == nil and H ~= nil
  -- Ids below H - W are never looked up again; they are trimmed each time the highest id
  -- enters a new block of W ids, so the set holds at most about 2W + 1 ids.
  local B = math.max(W, 1)
  if H ~= nil and H0 ~= nil and math.floor(H / B) ~= math.floor(H0 / B) then
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. string.format('%d', H - W))
  end
  if hashed then redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(math.max(32, W) + 1)) end
  local hs = H and string.format('%d', H) or ''
  if s.co ~= '' and res.tf == '' then
    redis.call('HSET', rec, 'ls', now, 'h', hs, 'n', n0 + 1, 'co', s.co, 'ct', now)
  else
    redis.call('HSET', rec, 'ls', now, 'h', hs, 'n', n0 + 1)
  end
end

local su = su0
if suspendWith ~= '' and res.su == 0 then
  res.sn = now + o.susp
  su = res.sn
  redis.call('HSET', rec, 'su', res.sn, 'sr', suspendWith)
end

-- TTLs are refreshed when a record starts, when it is suspended, and otherwise at most every
-- 30 s of activity (the TTL carries a 60 s margin over the idle timeout).
if fresh or res.sn > 0 or firstId or hashed or (s and (ls0 == nil or now - ls0 >= 30000)) then
  local ttl = math.ceil(2 * maxWindow)
  if s then
    ttl = math.max(ttl, s.idle + 60000, s.rw)
    if s.kind == 'mcp' then ttl = math.max(ttl, ca + s.life + s.idle - now) end
  end
  if su > now then ttl = math.max(ttl, su - now) end
  if redis.call('PTTL', rec) < ttl then redis.call('PEXPIRE', rec, ttl) end
  if s then
    redis.call('PEXPIRE', KEYS[3], ttl)
    redis.call('PEXPIRE', KEYS[4], ttl)
  end
end
if #res.c == 0 then res.c = cjson.decode('[]') end
return cjson.encode(res)
`;

/**
 * Counts one new session record against its source (KEYS[1], the source's own hash tag) in
 * a sliding window, as MemoryStateStore.admit does. ARGV: now, window ms, max. Returns 1 when
 * counted, 0 when the source is over its allowance (nothing counted).
 */
export const ADMIT_SCRIPT = String.raw`
local now, win, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local idx = math.floor(now / win)
local f = redis.call('HMGET', KEYS[1], 'i', 'c', 'p')
local i, cur, prev = tonumber(f[1]) or idx, tonumber(f[2]) or 0, tonumber(f[3]) or 0
if i ~= idx then
  if i == idx - 1 then prev = cur else prev = 0 end
  cur = 0
end
if prev * (1 - (now - idx * win) / win) + cur + 1 > max then return 0 end
redis.call('HSET', KEYS[1], 'i', idx, 'c', cur + 1, 'p', prev)
redis.call('PEXPIRE', KEYS[1], math.ceil(2 * win))
return 1
`;
