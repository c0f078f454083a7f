"""Result backends, chosen by URL scheme through :data:`BACKENDS`."""

from ..plugins import SchemeRegistry
from .base import BaseResultBackend

BACKENDS = SchemeRegistry("result backend")
BACKENDS.register("memory", "flowrra.backends.memory:MemoryBackend")
BACKENDS.register("redis", "flowrra.backends.redis:RedisBackend", extra="redis")
BACKENDS.register("rediss", "flowrra.backends.redis:RedisBackend", extra="redis")
BACKENDS.register("unix", "flowrra.backends.redis:RedisBackend", extra="redis")
BACKENDS.register("redis+sentinel", "flowrra.backends.redis:RedisBackend", extra="redis")
BACKENDS.register("redis+cluster", "flowrra.backends.redis_shards:ClusterBackend", extra="redis")
BACKENDS.register("rediss+cluster", "flowrra.backends.redis_shards:ClusterBackend", extra="redis")

__all__ = ["BACKENDS", "BaseResultBackend"]
