"""Quantum clusters: several executors behind one, and the selectors that choose among them.

A selector is called once per QElectron call with that call's circuits (a list of
``QuantumScript``; one for a plain call) and the cluster's executors, and returns the
executor to use. ``"cyclic"`` walks the executors in order, ``"random"`` draws one.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from pydantic import Field, PrivateAttr, field_validator

from covalent_quantum.executors.base import BaseQExecutor, QCResult, QNodeInfo

Selector = Callable[[Sequence[Any], Sequence[BaseQExecutor]], BaseQExecutor]


class CyclicSelector:
    """local -> qasm -> lima -> local ...: each call takes the next executor."""

    name = "cyclic"

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def __call__(
        self, circuits: Sequence[Any], executors: Sequence[BaseQExecutor]
    ) -> BaseQExecutor:
        with self._lock:
            chosen = executors[self._count % len(executors)]
            self._count += 1
        return chosen


class RandomSelector:
    name = "random"

    def __call__(
        self, circuits: Sequence[Any], executors: Sequence[BaseQExecutor]
    ) -> BaseQExecutor:
        return random.choice(list(executors))


SELECTORS: dict[str, Callable[[], Selector]] = {"cyclic": CyclicSelector, "random": RandomSelector}


class QCluster(BaseQExecutor):
    """A list of executors used as one; ``selector`` picks the executor of each call."""

    executors: list[BaseQExecutor] = Field(min_length=1)
    selector: str | Callable[..., Any] = "cyclic"
    _chooser: Selector | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @field_validator("selector")
    @classmethod
    def _known_selector(cls, selector: str | Callable[..., Any]) -> str | Callable[..., Any]:
        if isinstance(selector, str) and selector not in SELECTORS:
            raise ValueError(
                f"selector {selector!r} is unknown: use 'cyclic', 'random', or a callable "
                "(circuits, executors) -> executor"
            )
        return selector

    @property
    def backend_name(self) -> str:
        return "cluster"

    def select(self, circuits: Sequence[Any]) -> BaseQExecutor:
        """The leaf executor for these circuits (clusters inside clusters are resolved too)."""
        with self._lock:
            if self._chooser is None:
                self._chooser = (SELECTORS[self.selector]() if isinstance(self.selector, str)
                                 else self.selector)
        chosen = self._chooser(circuits, self.executors)
        if not isinstance(chosen, BaseQExecutor):
            raise TypeError(
                f"the cluster's selector returned {chosen!r}; a selector must return one of "
                "the executors it was given"
            )
        return chosen.select(circuits) if isinstance(chosen, QCluster) else chosen

    def batch_submit(self, qscripts_list: Sequence[Any], info: QNodeInfo) -> list[Future[QCResult]]:
        return self.select(qscripts_list).batch_submit(qscripts_list, info)

    def describe(self) -> dict[str, Any]:
        selector = self.selector if isinstance(self.selector, str) else getattr(
            self.selector, "__qualname__", type(self.selector).__name__)
        return {"name": self.name, "selector": selector,
                "executors": [executor.describe() for executor in self.executors]}
