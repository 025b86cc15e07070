"""Run every benchmark (bench/bench_*.py), each in its own process; `make bench` calls this.

A benchmark module has a `main() -> int`; it prints its own figures. Each runs in a fresh
interpreter because it configures Django (its own database) before importing it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in HERE.glob("bench_*.py"))
    failed = []
    for name in names:
        print(f"== {name}", flush=True)
        result = subprocess.run([sys.executable, str(HERE / f"{name}.py")], check=False)
        if result.returncode:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
