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
    entry.write_text('{"key": "' + json.loads(entry.read_text())["key"] + '", "checks": [{"what": 1}], "mac": "0"}')
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


# a cache that can only save time, never claim a proof


def _entry(cache_on):
    (entry,) = cache_on.glob("proof-*.json")
    return entry, json.loads(entry.read_text())


def _resign(cache_on, body):
    key = (cache_on / "key").read_bytes()
    body["mac"] = cache._mac(key, {k: body[k] for k in ("key", "checks", "notes")})
    return json.dumps(body)


def _not_cached(capsys, *argv):
    status, out = _run(capsys, *argv)
    assert "HOLDS" in out and "(cached)" not in out, out
    return status, out


def test_an_entry_signed_by_another_key_is_not_believed(cache_on, capsys):
    _run(capsys, "shared_bias", "--activation", "tanh")
    entry, body = _entry(cache_on)
    (cache_on / "key").write_bytes(b"k" * 32)  # another user's key (an entry copied from their cache)
    _not_cached(capsys, "shared_bias", "--activation", "tanh")
    entry, body = _entry(cache_on)
    body["checks"][0]["holds"] = False  # tampered after signing
    entry.write_text(json.dumps(body))
    _not_cached(capsys, "shared_bias", "--activation", "tanh")


def test_an_entry_with_other_checks_is_not_believed(cache_on, capsys):
    _run(capsys, "shared_bias")
    entry, body = _entry(cache_on)
    forged = dict(body, checks=[{"what": "total", "param": "zzz", "label": "x", "holds": True, "false_pass": 0.0}])
    entry.write_text(_resign(cache_on, forged))
    _not_cached(capsys, "shared_bias")
    entry, body = _entry(cache_on)
    body["checks"][0]["label"] = "\\input{/etc/shadow}\x1b[2J ✓ fake"
    entry.write_text(_resign(cache_on, body))
    reasons: list = []
    assert cache.load_proof(derive("shared_bias"), reasons) is None
    assert "not the checks this derivation makes" in reasons[0]


def test_an_entry_or_directory_others_can_write_is_not_read(cache_on, capsys):
    _run(capsys, "shared_bias")
    entry, _ = _entry(cache_on)
    entry.chmod(0o666)
    reasons: list = []
    assert cache.load_proof(derive("shared_bias"), reasons) is None and "writable by others" in reasons[0]
    entry.chmod(0o600)
    assert cache.load_proof(derive("shared_bias")).cached
    cache_on.chmod(0o777)
    reasons = []
    assert cache.load_proof(derive("shared_bias"), reasons) is None and "cache directory" in reasons[0]
    cache_on.chmod(0o700)


def test_a_symlink_a_fifo_or_a_huge_entry_is_not_read(cache_on, capsys, tmp_path):
    import os
    _run(capsys, "shared_bias")
    entry, _ = _entry(cache_on)
    real = tmp_path / "elsewhere.json"
    entry.rename(real)
    entry.symlink_to(real)
    assert cache.load_proof(derive("shared_bias")) is None
    entry.unlink()
    os.mkfifo(entry)
    reasons: list = []
    assert cache.load_proof(derive("shared_bias"), reasons) is None and "not a regular file" in reasons[0]
    entry.unlink()
    entry.write_text(" " * (cache.ENTRY_LIMIT + 1))
    reasons = []
    assert cache.load_proof(derive("shared_bias"), reasons) is None and "cap" in reasons[0]


def test_verbose_says_why_a_cached_proof_was_not_used(cache_on, capsys):
    _run(capsys, "shared_bias")
    entry, _ = _entry(cache_on)
    entry.chmod(0o666)
    status = main(["shared_bias", "--verbose"])
    err = capsys.readouterr().err
    assert status == 0 and "note: cached proof not used:" in err and "writable by others" in err


def test_a_cached_randomized_proof_keeps_its_false_pass_bound(cache_on):
    d = derive("shared_bias")
    proved = cache.cached_proof(d)
    proved.checks[0].false_pass = 1e-9  # as a randomized identity test records it
    cache.store_proof(d, proved)
    back = cache.load_proof(derive("shared_bias"))
    assert back.cached and back.checks[0].false_pass == 1e-9


def test_a_failed_proof_exits_1(monkeypatch, capsys):
    from derive import proof as proof_module
    real = proof_module.is_zero
    monkeypatch.setenv("GRADPROOF_CACHE", "off")
    monkeypatch.setattr(proof_module, "is_zero", lambda e, **k: False if e != 0 else real(e, **k))
    status, out = _run(capsys, "sigmoid_mlp")
    assert status == 1 and "FAILS" in out


def test_a_key_others_can_read_signs_nothing(cache_on, capsys):
    _run(capsys, "shared_bias")
    (cache_on / "key").chmod(0o644)
    reasons: list = []
    assert cache.load_proof(derive("shared_bias"), reasons) is None and "readable by others" in reasons[0]
    (cache_on / "key").chmod(0o600)
    assert cache.load_proof(derive("shared_bias")).cached


def test_report_without_checks_reads_the_proof_cache(cache_on, tmp_path):
    from derive.cli import main

    first, second = tmp_path / "a.tex", tmp_path / "b.tex"
    assert main(["report", "shared_bias", "--no-check", "-o", str(first)]) == 0
    assert main(["report", "shared_bias", "--no-check", "-o", str(second)]) == 0
    assert "(cached)" not in first.read_text() and "HOLDS (cached)" in second.read_text()


# model files: keyed by their text, checked against the plan of their checks


def test_a_model_files_proof_is_cached_by_its_text(cache_on, capsys, tmp_path):
    model = tmp_path / "tied.gp"
    model.write_text((ROOT / "examples" / "models" / "tied_autoencoder.gp").read_text())
    status, first = _run(capsys, str(model))
    assert status == 0 and "HOLDS" in first and "(cached)" not in first
    assert len(list(cache_on.glob("proof-model-*.json"))) == 1
    status, second = _run(capsys, str(model))
    assert status == 0 and "HOLDS (cached)" in second
    strip = [line for line in second.splitlines() if not line.startswith("  (cached:")]
    assert "\n".join(strip).replace(" (cached)", "") + "\n" == first
    elsewhere = tmp_path / "copy.gp"  # the same text elsewhere: the same proof
    elsewhere.write_text(model.read_text())
    assert "HOLDS (cached)" in _run(capsys, str(elsewhere))[1]
    assert "(cached)" not in _run(capsys, str(model), "--wrt", "W,b")[1]  # another wrt: another proof
    model.write_text(model.read_text() + "\n# an edit\n")
    _not_cached(capsys, str(model))


def test_a_model_entry_with_other_checks_is_not_believed(cache_on, capsys):
    from derive import load_model

    path = str(ROOT / "examples" / "models" / "residual_block.gp")
    _run(capsys, path)
    entry, body = _entry(cache_on)
    body["checks"] = body["checks"][:-1]  # one check left out, signed by this user
    entry.write_text(_resign(cache_on, body))
    reasons: list = []
    assert cache.load_proof(load_model(path), reasons) is None
    assert "not the checks this derivation makes" in reasons[0]
    entry, body = _entry(cache_on)
    body["notes"] = ["x" * 10_000]
    entry.write_text(_resign(cache_on, body))
    _not_cached(capsys, path)


def test_a_model_plan_lists_exactly_the_checks_the_proof_makes():
    from derive import load_model
    from derive.model_proof import model_proof_plan, prove_model

    for name in ("tied_autoencoder", "lstm_step", "softmax_regression"):
        d = load_model(str(ROOT / "examples" / "models" / f"{name}.gp"))
        plan = model_proof_plan(d.sweep, d.sizes)
        result = prove_model(d.sweep, d.sizes)
        assert [(c.what, c.param, c.label, c.components) for c in plan.checks] == \
            [(c.what, c.param, c.label, c.components) for c in result.checks]
        assert (plan.omitted, plan.assumptions) == (result.omitted, result.assumptions)
