"""Lifecycle states of dispatches and nodes, spelled as Covalent spells them."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    NEW_OBJECT = "NEW_OBJECT"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    POSTPROCESSING = "POSTPROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    def __str__(self) -> str:
        return self.value

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})
