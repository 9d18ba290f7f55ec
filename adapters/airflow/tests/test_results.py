"""Results too large for XCom, or not JSON, travel as references to the results store."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import cloudpickle
import pytest
from airflow.sdk import ObjectStoragePath
from conftest import run_dag, xcom
from covalent_airflow import results

from covalent_core.errors import TaskPackageError


def test_large_and_non_json_results_travel_as_references(jobs: Path) -> None:
    dr, tis = run_dag("large_results")
    assert dr.state == "success", {t: ti.state for t, ti in tis.items()}
    big = xcom(dr, "big")
    assert results.is_ref(big)
    assert big["type"] == "builtins.list"
    stored = ObjectStoragePath(big[results.REF_KEY])
    assert stored.exists()
    assert stored.stat().st_size == big["bytes"]
    assert results.is_ref(xcom(dr, "odd_type"))
    assert xcom(dr, "small") == {"ok": True, "items": [1, 2]}  # small and plain: XCom itself
    assert xcom(dr, "combine") == 20_000 + 6 + 2
    assert xcom(dr, "plain") == 20_000


def _ti(**ids: object) -> SimpleNamespace:
    return SimpleNamespace(**{"dag_id": "d", "run_id": "manual__2026-01-01T00:00:00+00:00",
                              "task_id": "t", "map_index": -1, **ids})


@pytest.mark.parametrize("value", [None, 1, 2.5, "text", [1, "a"], (1, 2), {"k": [True, None]}])
def test_plain_small_values_stay_in_xcom(value: object) -> None:
    assert results.to_xcom(value, _ti(), limit=1000) == value


@pytest.mark.parametrize("value", [float("nan"), {1: "int key"}, {"__classname__": 1},
                                   b"bytes", {1, 2}, "x" * 2000])
def test_other_values_become_references(value: object) -> None:
    ref = results.to_xcom(value, _ti(map_index=3), limit=1000)
    assert results.is_ref(ref)
    assert ref[results.REF_KEY].endswith("/t_3.pkl")
    restored = results.resolve({"nested": [ref]})["nested"][0]
    assert restored == value or (restored != restored and value != value)  # nan


def test_a_missing_stored_result_says_what_to_do() -> None:
    ref = results.to_xcom({1, 2}, _ti(task_id="gone"), limit=10)
    ObjectStoragePath(ref[results.REF_KEY]).unlink()
    with pytest.raises(FileNotFoundError, match="results_path at storage every worker reaches"):
        results.resolve(ref)


def test_a_result_file_replaced_in_storage_is_refused(tmp_path: Path) -> None:
    """Anyone who can write to results_path must not run code in the workers."""
    marker = tmp_path / "pwned"
    ref = results.to_xcom({1, 2}, _ti())
    stored = ObjectStoragePath(ref[results.REF_KEY])
    stored.write_bytes(cloudpickle.dumps(_Evil(str(marker))))
    with pytest.raises(TaskPackageError, match="not a covalent-core data file"):
        results.resolve(ref)
    assert not marker.exists()


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        import os

        return (os.system, (f"touch {self.marker}",))
