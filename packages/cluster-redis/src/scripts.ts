import type { Cluster, Redis } from "ioredis";

/*
 * The Lua scripts that make each step of a shared session atomic in Redis. Keys per session
 * (see keys.ts): `s` the record hash, `p` the push stream, `r` kept responses (seq → encoded
 * message), `q` requests admitted (seq → id of the server running it; the mark stays beside
 * the answer until the client acknowledges both). Pub/sub messages to a server are msgpack
 * values one after another: kind, session id, then kind-specific fields. Every script touches
 * the keys of one partition (keys.ts): on a Redis Cluster they share a hash slot. The claim
 * scripts build the keys of the sessions they claim from the partition's key prefix (which
 * sessions are due is only known inside the script), and so do the batch scripts of admissions
 * and answers (a batch of hundreds passes one MessagePack argument, not three keys each;
 * Redis's Lua has cmsgpack, which reads no `bin`, so answers' bytes go end to end in an
 * argument of their own); the rest are declared.
 */

/**
 * Redis keeps a small hash as one flat list (listpack) that every field lookup walks, and
 * up to 512 entries by default; a session's running marks and answers are looked up by seq
 * many times in each batch. So a hash about to hold 32 entries or more is made a hash table
 * first: a field whose value is longer than `hash-max-listpack-value` (64 bytes by default)
 * converts it, and Redis does not convert it back when that field goes. `spreadFor(key, n)`,
 * before a batch adds up to n entries, adds that field if due and says whether it did; the
 * script deletes it (`SPREAD`) after its writes, so no reader ever sees it.
 */
const SPREAD_FOR = `
local SPREAD = '~spread'
local function spreadFor(key, n)
  local len = redis.call('HLEN', key)
  if len + n < 32 or (len > 0 and redis.call('OBJECT', 'ENCODING', key) ~= 'listpack') then return false end
  redis.call('HSET', key, SPREAD, string.rep('~', 1024))
  return true
end`;

/**
 * Seqs travel as decimal strings and stay strings in the scripts: Redis (7.0) turns a Lua
 * number given to a command into text with `%.17g`, which cost more than the hash commands
 * themselves. `below(a, b)` compares two such strings as numbers (no leading zeros: the
 * longer is larger; digits collate in order in every locale).
 */
const BELOW = `
local function below(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end`;

const SCRIPTS = {
  /** KEYS s, expiry. ARGV id, pwHash, timeout, owner, deadline, principal. 1, or 0 if the id is taken. */
  tetherCreate: {
    keys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'pw', ARGV[2], 'timeout', ARGV[3], 'owner', ARGV[4], 'state', 'live',
  'pushSeq', 0, 'responseAck', 1, 'principal', ARGV[6])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
return 1`,
  },
  /**
   * KEYS s, p, r, expiry. ARGV id, pwHash, owner, channel prefix, now, tickTime. Checks the
   * password and takes the session over, telling its previous server; the Hello counts as a
   * frame, so its deadline moves to now's bucket at once (a claim may not wait for the next
   * batch). Returns nil (unknown, ending or wrong password)
   * or {timeout, responseAck, principal, pushes (flat id/fields list), responses (flat hash),
   * epoch, pushSeq, deadline, data}. The epoch counts resumes: a "moved" message older than a server's own resume is stale.
   */
  tetherResume: {
    keys: 4,
    lua: `
local rec = redis.call('HMGET', KEYS[1], 'pw', 'state', 'owner', 'timeout', 'responseAck', 'principal', 'pushSeq', 'data')
if rec[1] ~= ARGV[2] or rec[2] ~= 'live' then return nil end
local tick = tonumber(ARGV[6])
local deadline = (math.floor((tonumber(ARGV[5]) + tonumber(rec[4])) / tick) + 1) * tick
redis.call('ZADD', KEYS[4], 'XX', 'GT', deadline, ARGV[1])
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
if rec[3] ~= ARGV[3] then
  redis.call('HSET', KEYS[1], 'owner', ARGV[3])
  redis.call('PUBLISH', ARGV[4] .. rec[3], cmsgpack.pack('moved', ARGV[1], epoch))
end
local pushes = {}
for _, entry in ipairs(redis.call('XRANGE', KEYS[2], '-', '+')) do
  pushes[#pushes + 1] = entry[1]
  pushes[#pushes + 1] = entry[2][2]
end
return {rec[4], rec[5], rec[6], pushes, redis.call('HGETALL', KEYS[3]), epoch, rec[7], deadline, rec[8]}`,
  },
  /**
   * KEYS s, p. ARGV id, payload (msgpack [topic, body]), maxReplay, channel prefix. Appends a
   * numbered push and tells the owner; returns its seq, -1 if the session is not live, -2 if
   * its unacknowledged pushes are at the bound (nothing is added: the session must end).
   */
  tetherPush: {
    keys: 2,
    lua: `
local rec = redis.call('HMGET', KEYS[1], 'state', 'owner')
if rec[1] ~= 'live' then return -1 end
if redis.call('XLEN', KEYS[2]) >= tonumber(ARGV[3]) then return -2 end
local seq = redis.call('HINCRBY', KEYS[1], 'pushSeq', 1)
redis.call('XADD', KEYS[2], seq .. '-0', 'm', ARGV[2])
redis.call('PUBLISH', ARGV[4] .. rec[2], cmsgpack.pack('push', ARGV[1], seq) .. ARGV[2])
return seq`,
  },
  /**
   * KEYS any key of the partition (it routes the call; the script builds the sessions' keys).
   * ARGV the partition's key prefix, server, then the batch: MessagePack [id, n, seq × n, id,
   * n, ...] (seqs as decimal strings), requests of sessions of one partition. Decides for each
   * whether it runs on this server, one character each in the reply's first element: 0 no, the
   * session is not live (ending, or gone from Redis), 1 answered already, 2 running on another
   * server, 3 run it (recorded as running here), 4 no, acknowledged long ago (a stale
   * duplicate). The reply's second element holds the answer (1) or the server (2) of each of
   * those, in order. A session's run of requests costs one read of its answers, one read and
   * one write of its marks, however many they are. (An answer decides, not its mark: earlier
   * versions deleted a mark once its request was answered.)
   */
  tetherAdmit: {
    keys: 1,
    lua: `${SPREAD_FOR}${BELOW}
local tag, server = ARGV[1], ARGV[2]
local batch = cmsgpack.unpack(ARGV[3])
local codes, values = {}, {}
local i = 1
while i <= #batch do
  local id, n = batch[i], batch[i + 1]
  local seqs = {unpack(batch, i + 2, i + 1 + n)}
  i = i + 2 + n
  local rec = redis.call('HMGET', tag .. 's:' .. id, 'state', 'responseAck')
  if rec[1] ~= 'live' then
    for _ = 1, n do codes[#codes + 1] = '0' end
  else
    local ack, r, q = rec[2], tag .. 'r:' .. id, tag .. 'q:' .. id
    local spread = spreadFor(q, n)
    local marks = redis.call('HMGET', q, unpack(seqs))
    local kept = redis.call('HMGET', r, unpack(seqs))
    local fresh = {}
    for k, seq in ipairs(seqs) do
      local mark = marks[k]
      if below(seq, ack) then codes[#codes + 1] = '4'
      elseif kept[k] then
        codes[#codes + 1] = '1'
        values[#values + 1] = kept[k]
      elseif not mark then
        fresh[#fresh + 1] = seq
        fresh[#fresh + 1] = server
        codes[#codes + 1] = '3'
      elseif mark == server then codes[#codes + 1] = '3'
      else
        codes[#codes + 1] = '2'
        values[#values + 1] = mark
      end
    end
    if #fresh > 0 then redis.call('HSET', q, unpack(fresh)) end
    if spread then redis.call('HDEL', q, SPREAD) end
  end
end
return {table.concat(codes), values}`,
  },
  /** KEYS s. ARGV data. Keeps a live session's `data`. */
  tetherData: {
    keys: 1,
    lua: `
if redis.call('HGET', KEYS[1], 'state') == 'live' then redis.call('HSET', KEYS[1], 'data', ARGV[1]) end
return 1`,
  },
  /**
   * KEYS r, q. ARGV seq, server. Takes back the request's running mark if it is that server's
   * and the request has no answer (a mark stays beside its answer until acknowledged).
   */
  tetherWithdraw: {
    keys: 2,
    lua: `
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1`,
  },
  /**
   * KEYS any key of the partition (it routes the call). ARGV the partition's key prefix,
   * maxResponses, channel prefix, the batch: MessagePack [[id, runner, n, seq × n, id, ...],
   * [size, ...]] (seqs as text; each answer's payload size, in order), answers of sessions of
   * one partition, then the payloads end to end (one argument: a client library copies each
   * argument it sends, and hundreds of small ones cost more than one large one). Keeps
   * each answer (only if `runner` is still its runner and it has none yet) and sends it to the
   * session's owner if that is another server. One character per answer: 1 kept, 0 not
   * (session gone, another runner, answered already), 2 over the bound.
   */
  tetherComplete: {
    keys: 1,
    lua: `${SPREAD_FOR}
local tag, max, channels = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local batch, sizes = unpack(cmsgpack.unpack(ARGV[4]))
local payloads = ARGV[5]
local out = {}
local i, first, at = 1, 1, 1
while i <= #batch do
  local id, runner, n = batch[i], batch[i + 1], batch[i + 2]
  local seqs = {unpack(batch, i + 3, i + 2 + n)}
  i = i + 3 + n
  local rec = redis.call('HMGET', tag .. 's:' .. id, 'state', 'owner')
  if rec[1] ~= 'live' then
    for k = 1, n do
      out[#out + 1] = '0'
      at = at + sizes[first + k - 1]
    end
  else
    local r, q = tag .. 'r:' .. id, tag .. 'q:' .. id
    local spreadQ, spreadR = spreadFor(q, 0), spreadFor(r, n)
    local marks = redis.call('HMGET', q, unpack(seqs))
    local kept = redis.call('HMGET', r, unpack(seqs))
    local count = redis.call('HLEN', r) - (spreadR and 1 or 0)
    local fields, seen = {}, {}
    for k, seq in ipairs(seqs) do
      local size = sizes[first + k - 1]
      if marks[k] ~= runner or kept[k] or seen[seq] then out[#out + 1] = '0'
      elseif count >= max then
        redis.call('HDEL', q, seq)
        out[#out + 1] = '2'
      else
        local answer = string.sub(payloads, at, at + size - 1)
        seen[seq] = true
        count = count + 1
        fields[#fields + 1] = seq
        fields[#fields + 1] = answer
        if rec[2] ~= runner then
          redis.call('PUBLISH', channels .. rec[2], cmsgpack.pack('response', id) .. answer)
        end
        out[#out + 1] = '1'
      end
      at = at + size
    end
    if #fields > 0 then redis.call('HSET', r, unpack(fields)) end
    if spreadQ then redis.call('HDEL', q, SPREAD) end
    if spreadR then redis.call('HDEL', r, SPREAD) end
  end
  first = first + n
end
return table.concat(out)`,
  },
  /**
   * KEYS s, p, r, q. ARGV pushAck, responseAck. Drops what the client confirmed having:
   * pushes up to pushAck, responses (and running marks) below responseAck. Costs at most the
   * kept entries, whatever the numbers (a client chooses them).
   */
  tetherAck: {
    keys: 4,
    lua: `${BELOW}
local function hdelAll(key, fields)
  for first = 1, #fields, 1000 do
    redis.call('HDEL', key, unpack(fields, first, math.min(first + 999, #fields)))
  end
end
local old = redis.call('HGET', KEYS[1], 'responseAck')
if not old then return 0 end
redis.call('XTRIM', KEYS[2], 'MINID', (tonumber(ARGV[1]) + 1) .. '-0')
local new = ARGV[2]
if below(old, new) then
  local from, to = tonumber(old), tonumber(new) - 1
  for _, key in ipairs({KEYS[3], KEYS[4]}) do
    local gone = {}
    if redis.call('HLEN', key) >= 2 * (to - from + 1) then
      -- A short range among many kept: name its seqs (as text: see BELOW).
      for seq = from, to do gone[#gone + 1] = string.format('%d', seq) end
    else
      -- Walking what is kept costs less than naming each seq, and bounds a hostile jump.
      for _, field in ipairs(redis.call('HKEYS', key)) do
        if below(field, new) then gone[#gone + 1] = field end
      end
    end
    if #gone > 0 then hdelAll(key, gone) end
  end
  redis.call('HSET', KEYS[1], 'responseAck', new)
end
return 1`,
  },
  /**
   * KEYS expiry, claims (of one partition). ARGV upTo, limit, the partition's key prefix, linger ms, claimer, now, lease end.
   * Claims sessions whose deadline is at or before upTo: each leaves the queue and goes
   * live → closing, atomically, so one server ends it; the claim holds a lease (claims). Then
   * takes over claims never released whose lease ran out by now, if their claimer is alive
   * until no later than now (its liveness key holds that time) or is this one (it lost the reply). Returns {id, owner, timeout,
   * principal, reason, data} per claimed session.
   */
  tetherClaim: {
    keys: 2,
    lua: `
local limit = tonumber(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit)
local claimed = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[3] .. 's:' .. id
  local rec = redis.call('HMGET', key, 'state', 'owner', 'timeout', 'principal', 'data')
  if rec[1] == 'live' then
    redis.call('HSET', key, 'state', 'closing', 'claimer', ARGV[5], 'reason', 'expired')
    redis.call('ZADD', KEYS[2], ARGV[7], id)
    for _, part in ipairs({'s:', 'p:', 'r:', 'q:'}) do redis.call('PEXPIRE', ARGV[3] .. part .. id, ARGV[4]) end
    claimed[#claimed + 1] = {id, rec[2], rec[3], rec[4], 'expired', rec[5]}
  end
end
if #claimed < limit then
  local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[6], 'LIMIT', 0, limit - #claimed)
  for _, id in ipairs(stale) do
    local key = ARGV[3] .. 's:' .. id
    local rec = redis.call('HMGET', key, 'state', 'owner', 'timeout', 'principal', 'claimer', 'reason', 'data')
    if rec[1] ~= 'closing' then
      redis.call('ZREM', KEYS[2], id)
    elseif rec[5] == ARGV[5] or tonumber(redis.call('GET', ARGV[3] .. 'srv:' .. rec[5]) or 0) <= tonumber(ARGV[6]) then
      redis.call('HSET', key, 'claimer', ARGV[5])
      redis.call('ZADD', KEYS[2], ARGV[7], id)
      for _, part in ipairs({'s:', 'p:', 'r:', 'q:'}) do redis.call('PEXPIRE', ARGV[3] .. part .. id, ARGV[4]) end
      claimed[#claimed + 1] = {id, rec[2], rec[3], rec[4], rec[6], rec[7]}
    else
      redis.call('ZADD', KEYS[2], ARGV[7], id)
    end
  end
end
return claimed`,
  },
  /**
   * KEYS s, expiry, claims. ARGV id, the partition's key prefix, linger ms, claimer, reason, lease end.
   * Claims one live session to end it now (closed, or a bound overflowed), with a lease;
   * returns {owner, timeout, principal, data} or nil.
   */
  tetherClaimOne: {
    keys: 3,
    lua: `
local rec = redis.call('HMGET', KEYS[1], 'state', 'owner', 'timeout', 'principal', 'data')
if rec[1] ~= 'live' then return nil end
redis.call('HSET', KEYS[1], 'state', 'closing', 'claimer', ARGV[4], 'reason', ARGV[5])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
for _, part in ipairs({'s:', 'p:', 'r:', 'q:'}) do redis.call('PEXPIRE', ARGV[2] .. part .. ARGV[1], ARGV[3]) end
return {rec[2], rec[3], rec[4], rec[5]}`,
  },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type Argument = string | Buffer | number;
type ScriptCall = (...args: Argument[]) => Promise<unknown>;

/** Registers the scripts on a connection (ioredis runs them by EVALSHA, loading them once). */
export function defineScripts(redis: Redis | Cluster): void {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    redis.defineCommand(name, { numberOfKeys: script.keys, lua: script.lua });
  }
}

/** Runs a script registered by `defineScripts`, with binary-safe replies (Buffers). */
export function runScript(redis: Redis | Cluster, name: ScriptName, ...args: Argument[]): Promise<unknown> {
  const call = (redis as unknown as Record<string, ScriptCall>)[`${name}Buffer`];
  if (call === undefined) throw new Error(`script ${name} is not defined on this connection`);
  return call.apply(redis, args);
}
