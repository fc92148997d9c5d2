"""The code itself: lint-clean, and no function too branchy to read in one go
(radon's cyclomatic complexity at most 20 in ``derive``, ``numeric`` and ``checks``).
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 20


def _complexities():
    from radon.complexity import cc_visit

    out = {}
    for package in ("derive", "numeric", "checks"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for block in cc_visit(path.read_text(encoding="utf-8")):
                name = f"{path.relative_to(ROOT).as_posix()}:{block.name}"
                out[name] = max(out.get(name, 0), block.complexity)
    return out


def test_no_function_above_the_complexity_limit():
    pytest.importorskip("radon")
    over = {k: v for k, v in _complexities().items() if v > LIMIT}
    assert not over, f"functions above cyclomatic complexity {LIMIT}: {over}; split them"


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it is in the test extra: pip install -e '.[test]')")
    r = subprocess.run([ruff, "check", "--quiet", "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-1000:]
