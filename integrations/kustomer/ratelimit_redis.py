"""The Kustomer rate limiter on the deployment's Redis (ratelimit.py has the others and
``build_rate_limiter``, which picks this one for a ``redis://`` URL)."""
from __future__ import annotations

import uuid
from typing import Any

from .ratelimit import OBSERVED_LIMIT_TTL, RateLimiter

__all__ = ["RedisRateLimiter"]

# KEYS[1] = sliding log (ZSET of request times), KEYS[2] = state (HASH)
# Times come from Redis' own clock so machines' clocks never matter.
_LUA_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

_LUA_ACQUIRE = _LUA_NOW + """
local budget = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local safety = tonumber(ARGV[3])
local member = ARGV[4]
local st = redis.call('HMGET', KEYS[2], 'paused_until', 'srv_remaining', 'srv_reset_at',
                      'srv_limit', 'srv_limit_until')
local paused_until = tonumber(st[1]) or 0
if paused_until > now then return tostring(paused_until - now) end
local limit = budget
local srv_limit = tonumber(st[4])
if srv_limit and (tonumber(st[5]) or 0) > now then
  local b = math.max(1, math.floor(srv_limit * safety))
  if b < limit then limit = b end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n >= limit then
  local e = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  return tostring(math.max(0.01, tonumber(e[2]) + window - now))
end
local srv_remaining = tonumber(st[2])
local srv_reset_at = tonumber(st[3]) or 0
if srv_remaining and srv_reset_at > now then
  if srv_remaining <= 0 then return tostring(srv_reset_at - now) end
  redis.call('HSET', KEYS[2], 'srv_remaining', tostring(srv_remaining - 1))
end
redis.call('ZADD', KEYS[1], now, member)
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
return '0'
"""

_LUA_OBSERVE = _LUA_NOW + """
local remaining = tonumber(ARGV[1])
local reset = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local known_limit = tonumber(redis.call('HGET', KEYS[2], 'srv_limit'))
local limit_changed = limit and known_limit and limit ~= known_limit
if limit then
  redis.call('HSET', KEYS[2], 'srv_limit', tostring(limit), 'srv_limit_until', tostring(now + ttl))
end
if remaining then
  local reset_at = now + (reset or window)
  local st = redis.call('HMGET', KEYS[2], 'srv_remaining', 'srv_reset_at')
  local cur = tonumber(st[1])
  local cur_reset = tonumber(st[2]) or 0
  if cur and cur_reset > now and math.abs(cur_reset - reset_at) < 2 and not limit_changed then
    if remaining < cur then redis.call('HSET', KEYS[2], 'srv_remaining', tostring(remaining)) end
  else
    redis.call('HSET', KEYS[2], 'srv_remaining', tostring(remaining), 'srv_reset_at', tostring(reset_at))
  end
end
redis.call('EXPIRE', KEYS[2], 3600 + math.ceil(ttl))
return 1
"""

_LUA_PAUSE = _LUA_NOW + """
local seconds = tonumber(ARGV[1])
local cur = tonumber(redis.call('HGET', KEYS[2], 'paused_until')) or 0
if now + seconds > cur then
  redis.call('HSET', KEYS[2], 'paused_until', tostring(now + seconds))
end
redis.call('EXPIRE', KEYS[2], 3600 + math.ceil(seconds))
return 1
"""

_LUA_PAUSED_FOR = _LUA_NOW + """
local cur = tonumber(redis.call('HGET', KEYS[2], 'paused_until')) or 0
return tostring(cur - now)
"""


class RedisRateLimiter(RateLimiter):
    """Limiter on the deployment's Redis: atomic Lua scripts, Redis' clock.

    Keys: ``<prefix>:{<org_key>}:log`` (ZSET) and ``<prefix>:{<org_key>}:state`` (HASH),
    hash-tagged so both land on one Redis Cluster slot; both expire on their own.
    """

    def __init__(self, client: Any, *, key_prefix: str = "kustomer:ratelimit", **kwargs: Any) -> None:
        import redis  # imported here so the module loads without redis installed

        super().__init__(**kwargs)
        self._store_errors = (redis.RedisError,)
        self.redis = client
        self.key_prefix = key_prefix
        self._acquire_script = client.register_script(_LUA_ACQUIRE)
        self._observe_script = client.register_script(_LUA_OBSERVE)
        self._pause_script = client.register_script(_LUA_PAUSE)
        self._paused_for_script = client.register_script(_LUA_PAUSED_FOR)

    def keys(self, org_key: str) -> list[str]:
        base = f"{self.key_prefix}:{{{org_key}}}"
        return [f"{base}:log", f"{base}:state"]

    def _try_acquire(self, org_key: str, budget: int) -> float:
        member = uuid.uuid4().hex
        out = self._acquire_script(
            keys=self.keys(org_key), args=[budget, self.window, self.safety, member]
        )
        return float(out)

    def _observe(self, org_key, remaining, reset_seconds, limit) -> None:
        self._observe_script(
            keys=self.keys(org_key),
            args=[
                "" if remaining is None else remaining,
                "" if reset_seconds is None else reset_seconds,
                "" if limit is None else limit,
                self.window,
                OBSERVED_LIMIT_TTL,
            ],
        )

    def _pause(self, org_key: str, seconds: float) -> None:
        self._pause_script(keys=self.keys(org_key), args=[seconds])

    def _paused_for(self, org_key: str) -> float:
        return float(self._paused_for_script(keys=self.keys(org_key), args=[]))

    def _used_in_window(self, org_key: str) -> int:
        seconds, micros = self.redis.time()  # Redis' clock, as the scripts use
        now = float(seconds) + float(micros) / 1_000_000
        return int(self.redis.zcount(self.keys(org_key)[0], f"({now - self.window}", "+inf"))
