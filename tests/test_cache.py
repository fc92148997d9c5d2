"""The proof cache: honest (marked, keyed by code and options) and never in the way."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from derive import cache, derive
from derive.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache_on(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE", str(tmp_path / "c"))
    return tmp_path / "c"


def _run(capsys, *argv):
    status = main(list(argv))
    return status, capsys.readouterr().out


def test_second_run_reads_the_proof_and_says_so(cache_on, capsys):
    status, first = _run(capsys, "sigmoid_mlp")
    assert status == 0 and "HOLDS" in first and "(cached)" not in first
    assert len(list(cache_on.glob("proof-sigmoid_mlp-*.json"))) == 1
    status, second = _run(capsys, "sigmoid_mlp")
    assert status == 0 and "HOLDS (cached)" in second
    strip = [line for line in second.splitlines() if not line.startswith("  (cached:")]
    assert "\n".join(strip).replace(" (cached)", "") + "\n" == first
    status, js = _run(capsys, "sigmoid_mlp", "--json")
    assert json.loads(js)["proof"]["cached"] is True
    status, fresh = _run(capsys, "sigmoid_mlp", "--no-cache")
    assert fresh == first


def test_other_options_or_other_code_miss(cache_on, monkeypatch):
    d = derive("shared_bias")
    assert cache.load_proof(d) is None
    assert cache.cached_proof(d).cached is False
    assert cache.load_proof(derive("shared_bias")).cached is True
    assert cache.load_proof(derive("shared_bias", activation="tanh")) is None
    assert cache.load_proof(derive("shared_bias", wrt=["b", "W"])) is None
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "a different source tree")
    assert cache.load_proof(derive("shared_bias")) is None


def test_fingerprint_covers_every_derive_source_file():
    fp = cache.code_fingerprint()
    assert len(fp) == 64
    sources = sorted((ROOT / "derive").rglob("*.py"))
    assert any(p.name == "engine.py" for p in sources) and any(p.parent.name == "models" for p in sources)


def test_corrupt_or_unwritable_cache_is_ignored(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("GRADPROOF_CACHE", str(blocker / "sub"))
    status, out = _run(capsys, "shared_bias")
    assert status == 0 and "HOLDS" in out and "(cached)" not in out
    monkeypatch.setenv("GRADPROOF_CACHE", str(tmp_path / "c"))
    _run(capsys, "shared_bias")
    (entry,) = (tmp_path / "c").glob("proof-*.json")
    entry.write_text('{"key": "' + json.loads(entry.read_text())["key"] + '", "proof": {"checks": [{"what": 1}]}}')
    status, out = _run(capsys, "shared_bias")
    assert status == 0 and "HOLDS" in out and "(cached)" not in out


def test_cache_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE", "off")
    assert cache.cache_dir() is None
    monkeypatch.delenv("GRADPROOF_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert cache.cache_dir() == Path("/somewhere/gradproof")


def test_cli_imports_neither_jax_nor_numeric_nor_checks(tmp_path):
    code = ("import sys, io, contextlib\nfrom derive.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    main(['shared_bias', '--activation', 'tanh'])\n"
            "print(sorted(m for m in ('jax', 'numeric', 'checks', 'numpy') if m in sys.modules))")
    env = {"GRADPROOF_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env=env)
    assert out.stdout.strip() == "[]"
