"""Flowrra: an async-first task queue for Python, with a reusable Django app."""

from .app import Flowrra
from .config import BackendConfig, BrokerConfig, Config, ExecutorConfig, SchedulerConfig
from .events import EventBus
from .exceptions import (
    BackendError,
    BrokerError,
    ConfigurationError,
    ExecutorNotRunningError,
    FlowrraError,
    ResultNotFoundError,
    TaskFailedError,
    TaskNotFoundError,
    TaskTimeLimitExceeded,
    TaskTimeoutError,
)
from .executors import CPUExecutor, IOExecutor
from .options import SubmitOptions
from .registry import TaskRegistry
from .task import Task, TaskResult, TaskStatus
from .worker import Worker

__version__ = "0.2.0.dev0"

__all__ = [
    "BackendConfig",
    "BackendError",
    "BrokerConfig",
    "BrokerError",
    "CPUExecutor",
    "Config",
    "ConfigurationError",
    "EventBus",
    "ExecutorConfig",
    "ExecutorNotRunningError",
    "Flowrra",
    "FlowrraError",
    "IOExecutor",
    "ResultNotFoundError",
    "SchedulerConfig",
    "SubmitOptions",
    "Task",
    "TaskFailedError",
    "TaskNotFoundError",
    "TaskRegistry",
    "TaskResult",
    "TaskStatus",
    "TaskTimeLimitExceeded",
    "TaskTimeoutError",
    "Worker",
]
