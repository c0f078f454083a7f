"""Brokers, chosen by URL scheme through :data:`BROKERS`."""

from ..plugins import SchemeRegistry
from .base import BaseBroker, Delivery

BROKERS = SchemeRegistry("broker")
BROKERS.register("memory", "flowrra.brokers.memory:MemoryBroker")
BROKERS.register("redis", "flowrra.brokers.redis:RedisBroker", extra="redis")
BROKERS.register("rediss", "flowrra.brokers.redis:RedisBroker", extra="redis")
BROKERS.register("unix", "flowrra.brokers.redis:RedisBroker", extra="redis")
BROKERS.register("redis+sentinel", "flowrra.brokers.redis:RedisBroker", extra="redis")
BROKERS.register("redis+cluster", "flowrra.brokers.redis_shards:ClusterBroker", extra="redis")
BROKERS.register("rediss+cluster", "flowrra.brokers.redis_shards:ClusterBroker", extra="redis")

__all__ = ["BROKERS", "BaseBroker", "Delivery"]
