"""pytest's start-up with gradproof's plugin loaded, against the same run with it
disabled (``-p no:gradproof``), in a throwaway project with one trivial test.

    python benchmarks/bench_plugin.py [--rounds 15]

Prints the median wall time of each and the difference (the plugin's cost), in ms;
the two are interleaved round by round so machine load affects both alike.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(cwd: Path, extra: list) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        (cwd / "test_trivial.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
        _run(cwd, []), _run(cwd, ["-p", "no:gradproof"])  # warm the file cache
        on, off = [], []
        for _ in range(args.rounds):
            on.append(_run(cwd, []))
            off.append(_run(cwd, ["-p", "no:gradproof"]))
    m_on, m_off = statistics.median(on) * 1e3, statistics.median(off) * 1e3
    print(f"pytest start-up, median of {args.rounds}: with the plugin {m_on:.0f} ms, "
          f"with -p no:gradproof {m_off:.0f} ms, difference {m_on - m_off:+.0f} ms")


if __name__ == "__main__":
    main()
