"""The submit script and the Slurm state mapping: pure functions, checked exactly."""

from __future__ import annotations

import pytest
from covalent_slurm.script import JobScript
from covalent_slurm.states import missing_state, parse_status, slurm_state

EXPECTED = r"""#!/bin/bash
#SBATCH --nodes=1
#SBATCH --ntasks=4
#SBATCH --cpus-per-task=8
#SBATCH --constraint=gpu
#SBATCH --gpus=4
#SBATCH --qos=regular
#SBATCH --parsable
#SBATCH -J myjob
#SBATCH --output=/scratch/u/.covalent-slurm/batch-1/slurm-%A_%a.out

# This array task's package directory and working directory.
IFS=$'\t' read -r __task_dir __workdir < <(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" /scratch/u/.covalent-slurm/batch-1/tasks)
exec >> "$__task_dir/slurm.out" 2>&1
mkdir -p "$__workdir" && cd "$__workdir" || exit 98

source $HOME/.bashrc
export OMP_NUM_THREADS=8
export MSG='hello world'
conda activate qchem
if [ $? -ne 0 ] ; then
  >&2 echo "Conda environment qchem is not present on the compute node. Please create the environment and try again."
  exit 99
fi

module load cuda
echo pre

srun --cpu_bind=cores --gpus=4 --gpu-bind=single:1 \
  nsys profile --stats=true \
  python3 -m covalent_core.remote run "$__task_dir/task.pkg" "$__task_dir/outcome.pkg" --stdout "$__task_dir/stdout" --stderr "$__task_dir/stderr"
__status=$?

echo post

wait
exit $__status
"""  # noqa: E501


def test_script_has_the_shape_of_covalents_documentation():
    """The options and srun_options of Covalent's Slurm docs, plus every other knob."""
    script = JobScript(
        options={"nodes": 1, "ntasks": 4, "cpus-per-task": 8, "constraint": "gpu", "gpus": 4,
                 "qos": "regular", "parsable": "", "J": "myjob"},
        srun_options={"cpu_bind": "cores", "gpus": 4, "gpu-bind": "single:1"},
        srun_append="nsys profile --stats=true",
        prerun_commands=["module load cuda", "echo pre"], postrun_commands=["echo post"],
        variables={"OMP_NUM_THREADS": 8, "MSG": "hello world"}, bashrc_path="$HOME/.bashrc",
        conda_env="qchem", python="python3",
    )
    assert script.format("/scratch/u/.covalent-slurm/batch-1") == EXPECTED


def test_minimal_script_without_srun():
    script = JobScript(options={"output": "/logs/%j.out"}, use_srun=False, python="py")
    text = script.format("/b")
    assert "#SBATCH --output=/logs/%j.out" in text and "slurm-%A_%a.out" not in text
    assert "#SBATCH --job-name=covalent" in text
    assert "\npy -m covalent_core.remote run " in text and "srun" not in text
    assert "source" not in text and "conda" not in text


@pytest.mark.parametrize(("state", "status", "retryable", "words"), [
    ("PENDING", "PENDING", False, ""),
    ("RUNNING", "RUNNING", False, ""),
    ("COMPLETING", "RUNNING", False, ""),
    ("REQUEUED", "PENDING", False, ""),
    ("COMPLETED", "COMPLETED", False, ""),
    ("CANCELLED", "CANCELLED", False, "cancelled"),
    ("TIMEOUT", "FAILED", False, "options['time']"),
    ("OUT_OF_MEMORY", "FAILED", False, "options['mem']"),
    ("NODE_FAIL", "FAILED", True, "node failed"),
    ("PREEMPTED", "FAILED", True, "preempted"),
    ("BOOT_FAIL", "FAILED", True, "boot"),
    ("FAILED", "FAILED", False, "NonZeroExitCode"),
])
def test_slurm_states_are_told_apart(state, status, retryable, words):
    mapped = slurm_state(state, "NonZeroExitCode", "7_0", {"time": "0:30"})
    assert (mapped.status, mapped.retryable) == (status, retryable)
    assert words in mapped.reason


def test_status_output_parsing():
    out = "@@squeue 0\n7_0|RUNNING|None\n7_1|TIMEOUT|TimeLimit\n@@files\n/w/a\n"
    states, finished = parse_status(out)
    assert states == {"7_0": ("RUNNING", "None"), "7_1": ("TIMEOUT", "TimeLimit")}
    assert finished == {"/w/a"}
    # Slurm forgot every job (MinJobAge): outcome files decide.
    states, finished = parse_status(
        "@@squeue 1\nslurm_load_jobs error: Invalid job id specified\n@@files\n/w/a\n")
    assert states == {}
    assert missing_state("7_0", "/w/a" in finished).status == "COMPLETED"
    lost = missing_state("7_1", False)
    assert lost.status == "LOST" and lost.retryable
    # The controller is down: an error to retry, never "every job is lost".
    with pytest.raises(RuntimeError, match="squeue failed"):
        parse_status("@@squeue 1\nUnable to contact slurm controller\n@@files\n")
