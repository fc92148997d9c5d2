"""Bounded work: short inputs never hang. Numerals are refused from their text, parameter files
are bounded, and every stage runs under a time budget that ends in one line and exit 5."""
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from derive.budget import OutOfTime, budget
from derive.cli import main
from derive.numerals import numeral

ROOT = Path(__file__).resolve().parents[1]


def _run(capsys, *argv):
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.mark.parametrize(("text", "why"), [
    ("0e99_999_999", "underscores are not allowed"), ("1_000", "underscores are not allowed"),
    ("1e999999999", "exponent is out of range"), ("1e-401", "exponent is out of range"),
    ("9" * 401, "characters long"), ("1/0", "division by zero"), ("0x1F", "not a decimal number"),
])
def test_numerals_refused_from_their_text(text, why):
    value, message = numeral(text)
    assert value is None and why in message


@pytest.mark.parametrize("argv", [
    ["trace", "x+0e99_999_999", "--at", "x=1"], ["trace", "x", "--at", "x=1e99999999"],
    ["beta_binomial", "--alpha", "1e999999999"], ["normal_normal", "--tau2", "1e999999999"],
    ["normal_normal", "--data", "1e99999999,2"], ["rnn_bptt", "--proof-timeout", "0"],
    ["rnn_bptt", "--proof-timeout", "1e9"],
])
def test_numbers_that_would_hang_are_one_line_and_exit_2(capsys, argv):
    start = time.perf_counter()
    status, _, err = _run(capsys, *argv)
    assert status == 2 and err.count("\n") == 1 and err.startswith("error: "), err
    assert time.perf_counter() - start < 5


def test_a_stage_past_its_budget_is_one_line_and_exit_5(capsys, monkeypatch):
    from derive import cache

    def slow_proof(sweep, sizes):  # Python work that would run for ever, as a stuck SymPy call does
        while True:
            sum(range(1000))
    monkeypatch.setenv("GRADPROOF_CACHE", "off")
    monkeypatch.setattr(cache, "prove", slow_proof)
    status, out, err = _run(capsys, "shared_bias", "--proof-timeout", "0.5")
    assert status == 5 and out == ""
    assert err == ("error: not finished within 0.5 s: proving shared_bias; --no-proof skips it, "
                   "--proof-timeout SECONDS allows longer\n")
    status, _, err = _run(capsys, "trace", "x**x**x**x", "--at", "x=3", "--proof-timeout", "1")
    assert status == 5 and "not finished within 1 s: tracing" in err


def test_budget_interrupts_python_work_and_restores_the_clock():
    import signal

    start = time.perf_counter()
    with pytest.raises(OutOfTime, match=r"not finished within 0.2 s: spinning; stop"), budget(0.2, "spinning", "stop"):
        while True:
            with contextlib.suppress(Exception):  # a broad handler on the way cannot swallow it
                sum(range(1000))
    assert time.perf_counter() - start < 2
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    with budget(None, "unbounded", ""):
        pass


def _params(tmp_path, text, name="p.json"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_params_files_are_bounded(tmp_path, capsys):
    cases = [
        (_params(tmp_path, '{"b": [1, 2, 3], "b": [1, 2, 3]}', "dup.json"), "key 'b' is given twice"),
        (_params(tmp_path, '{"b": [' + "9" * 5000 + "]}", "int.json"), "has 5000 digits; at most 30"),
        (_params(tmp_path, json.dumps({"W": [[0.5] * 70] * 70}), "many.json"), "holds 4900 numbers; at most 4096"),
        (_params(tmp_path, " " * (1 << 20) + "{}", "big.json"), "bytes; at most 1048576"),
        ("/dev/zero", "is not a regular file"), (str(tmp_path), "is not a regular file"),
    ]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    cases.append((str(fifo), "is not a regular file"))
    for path, message in cases:
        start = time.perf_counter()
        status, _, err = _run(capsys, "shared_bias", "--check", "--params", path)
        assert status == 2 and err.count("\n") == 1 and message in err, (path, err)
        assert time.perf_counter() - start < 5


def test_sigterm_while_proving_exits_130_in_one_line(tmp_path):
    env = {**os.environ, "GRADPROOF_CACHE": "off", "TMPDIR": str(tmp_path)}
    p = subprocess.Popen([sys.executable, "-m", "derive", "rnn_bptt", "--steps", "30"], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    p.terminate()
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130 and err == "interrupted\n" and out == ""


def test_every_documented_steps_value_finishes_or_is_refused_up_front(capsys):
    start = time.perf_counter()
    status, _, err = _run(capsys, "rnn_bptt", "--steps", "31")
    assert status == 2 and "does not finish within 60 s" in err and "--no-proof" in err
    assert time.perf_counter() - start < 5
    status, _, err = _run(capsys, "rnn_bptt", "--steps", "51", "--no-proof")
    assert status == 2 and "from 1 to 50" in err
    status, out, _ = _run(capsys, "rnn_bptt", "--steps", "30", "--no-proof")  # the longest unroll: about 17 s
    assert status == 0 and "T = 30" in out and "a₃₀" in out


def test_inputs_that_used_to_hang_or_crash_end_in_one_line(capsys, monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE", "off")
    nested = "z"
    for _ in range(10):
        nested = f"tanh({nested})"
    start = time.perf_counter()
    status, _, err = _run(capsys, "sigmoid_mlp", "--activation", nested, "--proof-timeout", "2")
    assert status == 5 and err.startswith("error: not finished within 2 s") and time.perf_counter() - start < 20
    status, _, err = _run(capsys, "shared_bias", "--activation", "sigmoid(1000*z)", "--check")
    assert status == 4 and err.startswith("cannot judge: the derived ∂L/∂b does not evaluate to finite"), err
    status, out, _ = _run(capsys, "trace", "max(" + ",".join(f"x{i % 3}" for i in range(25)) + ")",
                          "--at", "x0=1", "x1=2", "x2=3")
    assert status == 0 and "HOLDS" in out


def test_an_unrolling_the_proof_cannot_finish_is_refused_before_it_starts(capsys):
    from derive.models.rnn import MAX_PROVED_STEPS, SMOOTH_PROVED_STEPS

    for extra, most in (((), SMOOTH_PROVED_STEPS), (("--activation", "relu"), MAX_PROVED_STEPS),
                        (("--activation", "g"), MAX_PROVED_STEPS), (("--loss", "l"), MAX_PROVED_STEPS)):
        status, out, err = _run(capsys, "rnn_bptt", "--steps", str(most + 1), *extra)
        assert status == 2 and not out
        assert f"--steps {most + 1} with these functions does not finish" in err and "--no-proof" in err
        assert f"use --steps {most} or fewer" in err
