"""covalent-slurm: run covalent_core tasks as Slurm job arrays, over SSH or on the login node."""

from covalent_slurm.script import JobScript
from covalent_slurm.slurm import SlurmExecutor

__all__ = ["JobScript", "SlurmExecutor"]
