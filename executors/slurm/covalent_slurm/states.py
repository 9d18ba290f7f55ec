"""Slurm job states as covalent_core job states, and the one status query for many jobs.

TIMEOUT and OUT_OF_MEMORY are the task's own limits: resubmitting would hit them again,
so they fail with a message naming the option to raise. NODE_FAIL, PREEMPTED and
BOOT_FAIL are the cluster's doing: they are marked retryable, and the job is
submitted again (``resubmit_limit`` times).
"""

from __future__ import annotations

import shlex

from covalent_core.executor.remote import (
    CANCELLED,
    COMPLETED,
    FAILED,
    LOST,
    PENDING,
    RUNNING,
    JobState,
)

_WAITING = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD",
            "RESV_DEL_HOLD", "SUSPENDED", "STOPPED"}
_ACTIVE = {"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING", "RESIZING"}
_RETRYABLE = {
    "NODE_FAIL": "its node failed",
    "PREEMPTED": "it was preempted",
    "BOOT_FAIL": "its node failed to boot",
}

OUTCOME = "outcome.pkg"
_SQUEUE_MARK = "@@squeue"
_FILES_MARK = "@@files"


def slurm_state(state: str, reason: str, job: str, options: dict[str, object]) -> JobState:
    state = state.split()[0].rstrip("+") if state else ""
    if state in _WAITING:
        return JobState(PENDING, reason)
    if state in _ACTIVE:
        return JobState(RUNNING)
    if state == "COMPLETED":
        return JobState(COMPLETED)
    if state == "CANCELLED":
        return JobState(CANCELLED, f"Slurm job {job} was cancelled (scancel)")
    if state == "TIMEOUT":
        limit = options.get("time", options.get("t", "the partition's default"))
        return JobState(FAILED, f"Slurm job {job} reached its time limit (TIMEOUT, time={limit})"
                                "; raise options['time'] if the task needs longer")
    if state == "OUT_OF_MEMORY":
        return JobState(FAILED, f"Slurm job {job} ran out of memory (OUT_OF_MEMORY); raise "
                                "options['mem'] or options['mem-per-cpu']")
    if state in _RETRYABLE:
        return JobState(FAILED, f"Slurm job {job} ended {state}: {_RETRYABLE[state]}",
                        retryable=True)
    return JobState(FAILED, f"Slurm job {job} ended {state or 'in an unknown state'}"
                            + (f" ({reason})" if reason and reason != "None" else ""))


def status_command(squeue: str, job_ids: list[str]) -> str:
    """One command for all jobs: squeue for the arrays, and which packages left an outcome.

    Slurm forgets finished jobs (``MinJobAge``) when it keeps no accounting; a job it no
    longer knows finished if its outcome file exists. Package directories come on stdin.
    """
    ids = ",".join(shlex.quote(j) for j in job_ids)
    return (
        f"out=$({squeue} -h -r --states=all -o '%i|%T|%r' -j {ids} 2>&1); rc=$?\n"
        f"printf '{_SQUEUE_MARK} %s\\n%s\\n{_FILES_MARK}\\n' \"$rc\" \"$out\"\n"
        f'while read -r d; do [ -e "$d/{OUTCOME}" ] && echo "$d"; done\n'
        "true\n"
    )


def parse_status(output: str) -> tuple[dict[str, tuple[str, str]], set[str]]:
    """``{"<job>_<index>": (state, reason)}`` and the package directories with an outcome."""
    head, _, files = output.partition(f"\n{_FILES_MARK}\n")
    first, _, body = head.partition("\n")
    if not first.startswith(_SQUEUE_MARK):
        raise RuntimeError(f"unexpected status output: {output[-300:]!r}")
    rc = first.split()[1] if len(first.split()) > 1 else "?"
    if rc != "0" and "Invalid job id" not in body:
        raise RuntimeError(f"squeue failed (exit {rc}): {body.strip()[-500:]}")
    states: dict[str, tuple[str, str]] = {}
    if rc == "0":
        for line in body.splitlines():
            parts = line.strip().split("|")
            if len(parts) >= 2:
                states[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
    return states, {line.strip() for line in files.splitlines() if line.strip()}


def missing_state(job: str, has_outcome: bool) -> JobState:
    if has_outcome:
        return JobState(COMPLETED)
    return JobState(LOST, f"Slurm no longer knows job {job} and it left no outcome",
                    retryable=True)
