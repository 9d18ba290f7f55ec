"""The quantum executor contract: Covalent's ``BaseQExecutor``, as pydantic models.

An executor receives the circuits (PennyLane ``QuantumScript``s) of one QElectron
call in ``batch_submit`` and returns futures at once, so many calls can be in flight
together (``run_later``); ``batch_get_results`` waits for them. Executors are plain
values that travel inside pickled electrons, so they hold no pools or clients (those
live in :mod:`covalent_quantum.pools`) and never carry their secrets: tokens and
sessions are dropped when pickled and read again from the config where unpickled.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, model_validator

from covalent_quantum.settings import defaults_for


@dataclass(frozen=True)
class QNodeInfo:
    """What an executor needs to know about the QNode it stands in for."""

    name: str
    description: str | None
    device_name: str
    wires: tuple[Any, ...] | None


@dataclass
class QCResult:
    """Results of consecutive circuits of one batch, with how long they took and where."""

    results: list[Any]
    execution_time: float
    metadata: dict[str, Any] = field(default_factory=dict)


def done(value: QCResult) -> Future[QCResult]:
    future: Future[QCResult] = Future()
    future.set_result(value)
    return future


def with_shots(tapes: Sequence[Any], shots: int | None) -> list[Any]:
    """Covalent's shots override: 0 keeps each circuit's shots, None is analytic."""
    if shots == 0:
        return list(tapes)
    return [tape.copy(shots=shots) for tape in tapes]


class BaseQExecutor(BaseModel, ABC):
    # hide_input_in_errors: a mistyped token must not be echoed into a traceback.
    model_config = ConfigDict(
        extra="forbid", arbitrary_types_allowed=True, hide_input_in_errors=True
    )

    #: Fields that never leave this process: not pickled, not described, not logged.
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()

    persist_data: bool = True
    """Keep circuit diagrams and results in the call records (False: timings only)."""

    @model_validator(mode="before")
    @classmethod
    def _configured_defaults(cls, data: Any) -> Any:
        """Options not given in code come from ``[qelectron.<ClassName>]``, validated alike."""
        if isinstance(data, dict):
            return {**defaults_for(cls.__name__, cls.model_fields), **data}
        return data

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def backend_name(self) -> str:
        """The hardware or simulator the circuits reach, for records; overridden per backend."""
        return str(getattr(self, "device", ""))

    @abstractmethod
    def batch_submit(self, qscripts_list: Sequence[Any], info: QNodeInfo) -> list[Future[QCResult]]:
        """Start running the circuits; return futures whose QCResults cover them in order."""

    def batch_get_results(self, futures_list: Sequence[Future[QCResult]]) -> list[QCResult]:
        return [future.result() for future in futures_list]

    def describe(self) -> dict[str, Any]:
        """A JSON-able description for records: every option except secrets."""
        return {"name": self.name,
                **self.model_dump(mode="json", exclude=set(self.SECRET_FIELDS))}

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["__dict__"] = {
            k: v for k, v in state["__dict__"].items() if k not in self.SECRET_FIELDS
        }
        state["__pydantic_fields_set__"] = set(state["__pydantic_fields_set__"]) - set(
            self.SECRET_FIELDS
        )
        state["__pydantic_private__"] = None  # locks and counters start afresh
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Secrets come from this host's config, never from whoever pickled the executor."""
        super().__setstate__(state)
        fields = type(self).model_fields
        configured = defaults_for(type(self).__name__, fields)
        for name in self.SECRET_FIELDS:
            raw = configured.get(name, fields[name].get_default(call_default_factory=True))
            self.__dict__[name] = TypeAdapter(fields[name].annotation).validate_python(raw)
        if self.__private_attributes__:
            object.__setattr__(self, "__pydantic_private__", {
                name: attr.default_factory() if attr.default_factory else attr.get_default()
                for name, attr in self.__private_attributes__.items()
            })
