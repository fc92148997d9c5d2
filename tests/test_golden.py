"""Every document's every format, byte for byte as pinned in tests/golden/.

The renderers are rewritten from time to time; what they print must not change
unless the change is meant (then ``python tests/golden/cases.py --write`` and
review the diff).
"""
import difflib
import functools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
import cases  # noqa: E402


@functools.cache
def _documents():
    return cases.documents()


@pytest.mark.parametrize(("case", "fmt", "proof"), cases.pinned(),
                         ids=[f"{c}-{f}{'-proved' if p else ''}" for c, f, p in cases.pinned()])
def test_output_is_pinned(case, fmt, proof):
    want = cases.path(case, fmt, proof).read_text(encoding="utf-8")
    got = cases.render(_documents()[case], fmt, proof)
    if got != want:
        diff = "".join(list(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "pinned", "now"))[:60])
        pytest.fail(f"{case} {fmt} changed:\n{diff}", pytrace=False)
