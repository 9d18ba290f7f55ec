"""SlurmExecutor on a real single-node Slurm: locally (``local=True``) and through an sshd
standing in for the login node."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from covalent_slurm import SlurmExecutor

import covalent_core as ct
from covalent_core.errors import ExecutorConfigError
from covalent_core.remote.package import TaskPackage


def test_ready_electrons_go_out_as_one_job_array(local_slurm):
    executor = ct.executor.SlurmExecutor(**local_slurm)
    assert type(executor) is SlurmExecutor

    @ct.electron(executor=executor)
    def where(i):
        import os

        print(f"task {i} on array index {os.environ['SLURM_ARRAY_TASK_ID']}")
        return i, int(os.environ["SLURM_ARRAY_JOB_ID"]), int(os.environ["SLURM_ARRAY_TASK_ID"])

    @ct.lattice
    def workflow(n):
        return [where(i) for i in range(n)]

    result = ct.dispatch_sync(workflow)(8)
    assert result.status == "COMPLETED", result.error
    assert executor.sbatch_calls == 1
    array_ids = {job for _, job, _ in result.result}
    assert len(array_ids) == 1
    assert sorted(index for _, _, index in result.result) == list(range(8))
    for node in result.get_all_node_results():
        if node["node_name"] == "where":
            i, job, index = node["output"]
            handle = node["job_handle"]
            assert (int(handle["job_id"]), handle["array_index"]) == (job, index)
            assert handle["local"] is True
            assert node["stdout"] == f"task {i} on array index {index}\n"


def test_one_status_query_per_poll_for_all_jobs(local_slurm):
    executor = SlurmExecutor(**local_slurm)

    def triple(x):
        return 3 * x

    async def scenario() -> tuple[list, int, list]:
        handles = await asyncio.gather(*(
            executor.submit(TaskPackage(triple, [i], {}, {"dispatch_id": "d", "node_id": i}))
            for i in range(5)
        ))
        await asyncio.gather(*(executor.wait_for_job(h) for h in handles))
        before = executor.status_queries
        states = await executor.poll(list(handles))
        queries = executor.status_queries - before
        return states, queries, [await executor.fetch(h) for h in handles]

    states, queries, outcomes = asyncio.run(scenario())
    assert [s.status for s in states] == ["COMPLETED"] * 5
    assert queries == 1
    assert executor.sbatch_calls == 1
    assert [o.value for o in outcomes] == [0, 3, 6, 9, 12]


def test_login_node_over_ssh_by_name_with_config(ssh_slurm, tmp_path: Path):
    bashrc = tmp_path / "site_bashrc"
    bashrc.write_text("export SITE_MODULES=loaded\n")
    options = {**ssh_slurm, "bashrc_path": str(bashrc), "create_unique_workdir": True,
               "variables": {"GREETING": "hello world"},
               "prerun_commands": ["echo prerun > hooks.txt"],
               "postrun_commands": ["echo postrun >> hooks.txt"],
               "srun_options": {"ntasks": 1}, "options": {"parsable": "", "job-name": "by-name"}}
    ct.set_config({f"executors.slurm.{key}": value for key, value in options.items()})

    @ct.electron(executor="slurm")
    def environment():
        import os

        print("on the compute node")
        return os.getcwd(), os.environ["SITE_MODULES"], os.environ["GREETING"]

    @ct.electron(executor="slurm")
    def explode():
        raise RuntimeError("the compute node says no")

    @ct.lattice
    def workflow():
        return environment(), explode()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "FAILED"
    nodes = {n["node_name"]: n for n in result.get_all_node_results()}
    cwd, modules, greeting = nodes["environment"]["output"]
    assert cwd == str(Path(ssh_slurm["remote_workdir"]) / result.dispatch_id / "node_0")
    assert (modules, greeting) == ("loaded", "hello world")
    assert Path(cwd, "hooks.txt").read_text() == "prerun\npostrun\n"
    assert nodes["environment"]["stdout"] == "on the compute node\n"
    assert nodes["environment"]["executor"] == "slurm"
    assert nodes["explode"]["job_handle"]["address"] == "127.0.0.1"
    assert "RuntimeError: the compute node says no" in nodes["explode"]["error"]
    assert "in explode" in nodes["explode"]["traceback"]


def test_a_job_sbatch_refuses_fails_clearly_before_running(local_slurm):
    executor = SlurmExecutor(**{**local_slurm, "options": {"partition": "no-such-partition"}})

    @ct.electron(executor=executor)
    def never():
        return 1

    @ct.lattice
    def workflow():
        return never()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "FAILED"
    error = result.get_node_result(0)["error"]
    assert "sbatch" in error and "refused the job" in error and "partition" in error


def test_missing_address_and_missing_interpreter(local_slurm):
    with pytest.raises(ValueError, match=r"address is required.*local=True"):
        SlurmExecutor(username="me")

    @ct.electron(executor="slurm")
    def hello():
        return "hi"

    @ct.lattice
    def workflow():
        return hello()

    with pytest.raises(ExecutorConfigError, match=r"executors\.slurm.*address is required"):
        ct.dispatch_sync(workflow)()

    executor = SlurmExecutor(**{**local_slurm, "python_path": "/opt/nowhere/python3"})

    @ct.electron(executor=executor)
    def hello_there():
        return "hi"

    @ct.lattice
    def workflow2():
        return hello_there()

    result = ct.dispatch_sync(workflow2)()
    error = result.get_node_result(0)["error"]
    assert "RemoteEnvironmentError" in error and "'/opt/nowhere/python3'" in error
    assert executor.sbatch_calls == 0  # found out before anything was submitted
