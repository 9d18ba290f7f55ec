"""The sbatch script, in the shape Covalent's Slurm plugin documents.

``#SBATCH`` lines from ``options`` (``--key=value``, ``-k value`` for one-letter keys,
a bare flag for an empty value), the shell setup (bashrc, ``variables``, conda), the
prerun commands, ``srun <srun_options> <srun_append> python ...``, the postrun
commands, ``wait``. One script serves a whole job array: each array task reads its
own package directory and working directory from line ``SLURM_ARRAY_TASK_ID + 1`` of
the batch's task list, and sends everything it prints to that package directory.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

TASKS_FILE = "tasks"
SLURM_OUT = "slurm.out"
_OUTPUT_KEYS = {"output", "o", "error", "e"}


def _flag(key: str, value: Any, sep: str) -> str:
    empty = value is None or value == "" or value is True
    if len(key) == 1:
        return f"-{key}" + ("" if empty else f" {value}")
    return f"--{key}" + ("" if empty else f"{sep}{value}")


@dataclass
class JobScript:
    options: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    bashrc_path: str = ""
    conda_env: str = ""
    prerun_commands: list[str] = field(default_factory=list)
    postrun_commands: list[str] = field(default_factory=list)
    use_srun: bool = True
    srun_options: dict[str, Any] = field(default_factory=dict)
    srun_append: str = ""
    python: str = "python3"

    def directives(self, batch_dir: str) -> str:
        lines = [f"#SBATCH {_flag(k, v, '=')}" for k, v in self.options.items() if v is not False]
        if "job-name" not in self.options and "J" not in self.options:
            lines.append("#SBATCH --job-name=covalent")
        if not _OUTPUT_KEYS & set(self.options):
            lines.append(f"#SBATCH --output={batch_dir}/slurm-%A_%a.out")
        return "\n".join(lines)

    def environment(self) -> str:
        """Shell setup shared by the job and the login-node interpreter check."""
        lines = [f"source {self.bashrc_path}"] if self.bashrc_path else []
        lines += [f"export {k}={shlex.quote(str(v))}" for k, v in self.variables.items()]
        if self.conda_env:
            lines += [
                f"conda activate {shlex.quote(self.conda_env)}",
                "if [ $? -ne 0 ] ; then",
                f'  >&2 echo "Conda environment {self.conda_env} is not present on the compute '
                'node. Please create the environment and try again."',
                "  exit 99",
                "fi",
            ]
        return "\n".join(lines)

    def run_command(self) -> str:
        python = (f'{self.python} -m covalent_core.remote run "$__task_dir/task.pkg" '
                  '"$__task_dir/outcome.pkg" --stdout "$__task_dir/stdout" '
                  '--stderr "$__task_dir/stderr"')
        if not self.use_srun:
            return python
        options = " ".join(_flag(k, v, "=") for k, v in self.srun_options.items())
        lines = [f"srun {options} \\" if options else "srun \\"]
        if self.srun_append:
            lines.append(f"  {self.srun_append} \\")
        lines.append(f"  {python}")
        return "\n".join(lines)

    def format(self, batch_dir: str) -> str:
        tasks = shlex.quote(f"{batch_dir}/{TASKS_FILE}")
        parts = [
            "#!/bin/bash\n" + self.directives(batch_dir),
            "# This array task's package directory and working directory.\n"
            "IFS=$'\\t' read -r __task_dir __workdir < <(sed -n "
            f'"$((SLURM_ARRAY_TASK_ID + 1))p" {tasks})\n'
            f'exec >> "$__task_dir/{SLURM_OUT}" 2>&1\n'
            'mkdir -p "$__workdir" && cd "$__workdir" || exit 98',
            self.environment(),
            "\n".join(self.prerun_commands),
            self.run_command() + "\n__status=$?",
            "\n".join(self.postrun_commands),
            "wait\nexit $__status",
        ]
        return "\n\n".join(p for p in parts if p) + "\n"
