"""The management facade used by every UI."""

from .manager import FlowrraManager

__all__ = ["FlowrraManager"]
