"""Builds the wheel of every distribution in the repository and checks what it carries.

Each wheel must hold the Apache-2.0 LICENSE its metadata declares (under
.dist-info/licenses/) and a py.typed marker in its package, so type checkers of users'
code read our annotations. Prints one line per distribution; exits 1 on any miss.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


def check(wheel: Path) -> list[str]:
    names = zipfile.ZipFile(wheel).namelist()
    problems = []
    if not any(n.split("/")[-1] == "LICENSE" and ".dist-info/licenses/" in n for n in names):
        problems.append("no .dist-info/licenses/LICENSE")
    if not any(n.endswith("/py.typed") for n in names):
        problems.append("no py.typed")
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    if "License-Expression: Apache-2.0" not in text:
        problems.append("metadata does not declare License-Expression: Apache-2.0")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--uv", default="uv", help="the uv executable that builds the wheels")
    args = parser.parse_args()
    projects = sorted(p.parent for p in args.root.glob("**/pyproject.toml")
                      if ".venvs" not in p.parts)
    failed = 0
    with tempfile.TemporaryDirectory() as out:
        for project in projects:
            before = set(Path(out).glob("*.whl"))
            subprocess.run([args.uv, "build", "--wheel", "--quiet", "-o", out, str(project)],
                           check=True)
            (wheel,) = set(Path(out).glob("*.whl")) - before
            problems = check(wheel)
            failed += bool(problems)
            print(f"{wheel.name}: {'; '.join(problems) or 'LICENSE, py.typed, license metadata'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
