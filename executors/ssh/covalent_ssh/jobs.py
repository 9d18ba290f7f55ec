"""The detached job on the far side: the shell that starts it, asks about it and stops it.

A job is a directory holding the task package and, as it runs, ``pid``, ``stdout``,
``stderr``, then ``outcome.pkg`` and ``exit_code``. The runner runs in its own session
(``setsid``), so a dropped SSH connection or a restarted sshd does not kill it; the
executor reconnects and asks again. Liveness is checked against the command line of
the pid (it names the job directory), so a recycled pid is not mistaken for the job.
Every script here is idempotent, because a command is sent again after a reconnect.
"""

from __future__ import annotations

import shlex

from covalent_core.executor.remote import (
    CANCELLED,
    COMPLETED,
    FAILED,
    LOST,
    RUNNING,
    JobState,
)

TASK = "task.pkg"
OUTCOME = "outcome.pkg"
STDOUT = "stdout"
STDERR = "stderr"
LAUNCH_LOG = "launch.log"
EXIT_BAD_PACKAGE = 3

_ALIVE = r"""alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/cmdline" ] || return 0
  tr '\0' '\n' < "/proc/$1/cmdline" | grep -qxF "$2"
}
"""


def shell_path(path: str) -> str:
    """Quote a path for sh, keeping a leading ``~/`` meaning the remote home."""
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def resolve_dir_command(path: str) -> str:
    """Create ``path`` and print it as an absolute path, so handles name it exactly."""
    quoted = shell_path(path)
    return f"mkdir -p {quoted} && cd {quoted} && pwd -P"


def launch_command(python: str) -> str:
    """Start runners detached; stdin has ``<job dir><TAB><workdir>`` lines, one pid line out each.

    Launching a job twice (the command resent after a reconnect) starts it once: the
    second time only reads its pid.
    """
    inner = (
        'echo $$ > "$1/pid.tmp" && mv "$1/pid.tmp" "$1/pid"\n'
        f'cd "$2" && {python} -m covalent_core.remote run "$1/{TASK}" "$1/{OUTCOME}" '
        f'--stdout "$1/{STDOUT}" --stderr "$1/{STDERR}"\n'
        'echo $? > "$1/exit.tmp" && mv "$1/exit.tmp" "$1/exit_code"\n'
    )
    return (
        "set -f\n"
        "tab=$(printf '\\t')\n"
        "dirs=''\n"
        'while IFS="$tab" read -r d w; do\n'
        '  dirs="$dirs$d$tab"\n'
        '  mkdir "$d/.launched" 2>/dev/null || continue\n'
        '  mkdir -p "$w"\n'
        f'  setsid sh -c {shlex.quote(inner)} covalent-job "$d" "$w" '
        f'> "$d/{LAUNCH_LOG}" 2>&1 < /dev/null &\n'
        "done\n"
        'IFS="$tab"\n'
        "for d in $dirs; do\n"
        '  i=0; while [ ! -s "$d/pid" ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done\n'
        '  echo "$(cat "$d/pid" 2>/dev/null || echo none)"\n'
        "done\n"
    )


def find_command(job_dir: str) -> str:
    """Prints the pid of the job launched in ``job_dir``, or ``none``.

    A job directory that was never launched is claimed (its ``.launched`` made), so a
    launch command still on its way from a dispatcher that died cannot start it later:
    the task is then submitted again under a new name, and runs once.
    """
    quoted = shlex.quote(job_dir)
    return (
        f"d={quoted}\n"
        '[ -d "$d" ] || { echo none; exit 0; }\n'
        'mkdir "$d/.launched" 2>/dev/null && { echo none; exit 0; }\n'
        'i=0; while [ ! -s "$d/pid" ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done\n'
        'cat "$d/pid" 2>/dev/null || echo none\n'
    )


def launch_input(jobs: list[tuple[str, str]]) -> str:
    return "".join(f"{job_dir}\t{workdir}\n" for job_dir, workdir in jobs)


def status_command() -> str:
    """Reads ``<pid> <job dir>`` lines on stdin; prints one state word line per job."""
    return _ALIVE + r"""while read -r pid d; do
  if [ -e "$d/cancelled" ]; then echo cancelled
  elif [ -e "$d/exit_code" ]; then echo "exit $(cat "$d/exit_code")"
  elif [ ! -d "$d" ]; then echo missing
  elif alive "$pid" "$d"; then echo running
  elif [ -e "$d/exit_code" ]; then echo "exit $(cat "$d/exit_code")"
  else echo lost; fi
done
"""


def status_input(jobs: list[tuple[int, str]]) -> str:
    return "".join(f"{pid} {job_dir}\n" for pid, job_dir in jobs)


def parse_status(output: str, jobs: list[tuple[int, str]], where: str) -> list[JobState]:
    lines = output.splitlines()
    if len(lines) != len(jobs):
        raise RuntimeError(
            f"status query on {where} answered {len(lines)} lines for {len(jobs)} jobs: "
            f"{output[-300:]!r}"
        )
    return [_state(line.split(), pid, job_dir, where)
            for line, (pid, job_dir) in zip(lines, jobs, strict=True)]


def _state(words: list[str], pid: int, job_dir: str, where: str) -> JobState:
    word = words[0] if words else ""
    if word == "running":
        return JobState(RUNNING)
    if word == "cancelled":
        return JobState(CANCELLED, "cancelled by request")
    if word == "exit":
        code = words[1] if len(words) > 1 else "?"
        if code == "0":
            return JobState(COMPLETED)
        if code == str(EXIT_BAD_PACKAGE):
            return JobState(FAILED, f"the runner on {where} rejected the task package (exit 3)")
        return JobState(FAILED, f"the runner on {where} exited with code {code}")
    if word == "missing":
        return JobState(LOST, f"job directory {job_dir} is gone from {where}", retryable=True)
    return JobState(LOST, f"process {pid} on {where} vanished without an exit code "
                          "(host rebooted or the job was killed)", retryable=True)


def cancel_command(job_dir: str, pid: int) -> str:
    """Mark the job cancelled and stop its process group; SIGKILL it if TERM is ignored."""
    return _ALIVE + (
        f"d={shlex.quote(job_dir)}; pid={int(pid)}\n"
        'touch "$d/cancelled" 2>/dev/null\n'
        'if alive "$pid" "$d"; then\n'
        '  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null\n'
        '  (sleep 5; kill -KILL -- "-$pid") > /dev/null 2>&1 < /dev/null &\n'
        "fi\n"
        "exit 0\n"
    )


def tail_command(job_dir: str, limit: int = 4000) -> str:
    """What the job printed outside the runner's capture: its launch log and stderr."""
    d = shlex.quote(job_dir)
    return (f"for f in {d}/{LAUNCH_LOG} {d}/{STDERR}; do "
            f'[ -s "$f" ] && tail -c {int(limit)} "$f"; done; true')
