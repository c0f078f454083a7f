"""Executors run task functions: async ones on the loop, sync ones in a process pool."""

from .base import BaseTaskExecutor
from .cpu import CPUExecutor
from .io import IOExecutor

__all__ = ["BaseTaskExecutor", "CPUExecutor", "IOExecutor"]
