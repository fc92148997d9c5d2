"""Malformed and hostile model files: each is one line on stderr, FILE:LINE:COL
where there is a position, exit 2 — never a traceback, never evaluated."""
import os
import subprocess
import sys

import pytest

from derive.cli import main

HEAD = "input x[d]\ntarget y[k]\nparam W[k, d]\nparam b[k]\n"

# (file text, where the error is "LINE:COL" or None, a phrase the message must contain)
BAD = [
    ("", "1:1", "no assignments"),
    ("# only a comment\n", "2:1", "no assignments"),
    (HEAD + "yhat = W @ x +\n", "5:15", "not a valid line"),
    (HEAD + "yhat = W @ b\nL = mse(yhat, y)\n", "5:10", "(d ≠ k)"),
    (HEAD + "L = sum(W @ x + x)\n", "5:15", "vector[k] + vector[d]"),
    (HEAD + "L = W @ x + b\n", "5:5", "must be a scalar"),
    (HEAD + "L = sum(V @ x)\n", "5:9", "unknown name 'V'"),
    (HEAD + "L = frobnicate(x)\n", "5:5", "unknown function 'frobnicate'"),
    (HEAD + "L = sum(x.__class__)\n", "5:9", "'.T' (transpose) is the only one"),
    (HEAD + "L = sum(x[0])\n", "5:9", "subscripts"),
    (HEAD + "L = __import__('os').system('touch /tmp/gp_pwned')\n", "5:5", "only functions can be called"),
    (HEAD + "L = eval('1')\n", "5:5", "unknown function 'eval'"),
    (HEAD + "L = sum(lambda: x)\n", "5:9", "lambda not allowed"),
    (HEAD + "L = sum(x if x else x)\n", "5:9", "'if'/'else' not allowed"),
    (HEAD + "L = sum([x])\n", "5:9", "lists not allowed"),
    (HEAD + "L = sum(x) < 1\n", "5:5", "comparisons not allowed"),
    (HEAD + "L = sum('x')\n", "5:9", "strings are not allowed"),
    (HEAD + "L = sum(x ** W)\n", "5:14", "constant exponent"),
    (HEAD + "L = sum(x ** 1000)\n", "5:14", "out of range"),
    (HEAD + "L = sum(x) * 1e999\n", "5:14", "out of range"),
    (HEAD + "L = sum(x) / 0\n", "5:14", "division by zero"),
    (HEAD + "L = sum(x) // 2\n", "5:5", "operator '//' is not allowed"),
    (HEAD + "L = sum(x, axis=2)\n", "5:5", "axis 2 does not exist"),
    (HEAD + "L = sum(x, 1.5)\n", "5:12", "must be an integer"),
    (HEAD + "L = sum(x, keepdims=1)\n", "5:5", "no keyword arguments except axis="),
    (HEAD + "L = softmax(x, y)\n", "5:5", "takes 1 argument, got 2"),
    (HEAD + "L = ce(softmax(W @ x + b))\n", "5:5", "takes 2 arguments, got 1"),
    (HEAD + "L = sum(x.T)\n", "5:9", "'.T' needs a matrix"),
    (HEAD + "x = W @ x\nL = sum(x)\n", "5:1", "already defined on line 1"),
    (HEAD + "param x[d]\nL = sum(x)\n", "5:7", "already defined on line 1"),
    (HEAD + "h = W @ x\nh = b\nL = sum(h)\n", "6:1", "already defined on line 5"),
    (HEAD + "L = sum(W @ x + b)\nwrt y\n", "6:5", "a target is data"),
    (HEAD + "L = sum(W @ x + b)\nwrt Q\n", "6:5", "not declared"),
    (HEAD + "param U[k, k]\nL = sum(W @ x + b)\nwrt U\n", "7:1", "does not reach the loss"),
    (HEAD + "h = W @ x\nL = sum(b)\n", "5:1", "never reaches the loss"),
    (HEAD + "L = sum(b)\nwrt b\nh = b\n", "7:1", "nothing may follow the 'wrt' line"),
    ("input x[d, e, f]\nL = sum(x)\n", "1:7", "give one dim (a vector) or two"),
    ("input x[0]\nL = sum(x)\n", "1:7", "out of range"),
    ("input x[n]\nparam w[n]\nL = sum(w ^ 2 * x) + bad\n", "3:22", "unknown name 'bad'"),  # column as written
    ("input x[n]\nparam w[n]\n# a\x0ccomment\nL = sum(w * x)\n", "3:4", "control character"),  # not a line break
    ("input x[n]\nparam w[n]\n# a\rcomment\nL = sum(w * x)\n", "3:4", "control character"),
    ("input x[n]\nparam w[n]\nL = sum(w * x / cos(pi / 2))\n", "3:17", "division by zero"),  # 0 exactly
    ("input x[d]\ntarget y[d]\nyhat = softmax(x)\nL = ce(y, yhat)\n", "4:5", "write ce(yhat, y)"),
    ("input x[-d]\nL = sum(x)\n", "1:7", "is not a name or a positive integer"),
    ("input sum[d]\nL = sum(sum)\n", "1:7", "reserved word or a built-in function"),
    ("input 1x[d]\nL = sum(x)\n", "1:7", "not a valid name"),
    ("const c[d]\nL = c\n", "1:7", "is a scalar"),
    ("function g[d]\n", "1:10", "takes no dimensions"),
    ("input x[d]\nL = sum(x) ; import os\n", "2:1", "expected one assignment"),
    ("input x[d]\nL = sum(x\x00)\n", "2:10", "control character"),
    ("input x[d]\n" + "L = sum(" + "exp(" * 40 + "x" + ")" * 41 + "\n", "2:", "nested more than 32 levels"),
    ("input x[d]\nL = sum(" + " + ".join(["x"] * 500) + ")\n", "2:", "longer than 500"),
    ("input x[d]\nwrt\nL = sum(x)\n", "2:4", "'wrt' needs names"),
    ("\n" * 500, "401:1", "at most 400"),
    ("input x[d]\nparam w[d]\nwrt w, w\nL = sum(w)\n", "3:8", "listed twice"),
    ("input x[d]\nloss l\nL = l(x)\n", "3:5", "takes 2 arguments"),
    ("input x[d]\nL = mse(x, 1)\n", "2:5", "needs equal shapes"),
    ("input A[n, m]\nparam v[n]\nL = sum(A @ v)\n", "3:11", "(m ≠ n)"),
    ("input x[d]\nL = sum(x) ^^ 2\n", "2:", "not a valid line"),
    ("input x[²]\nL = sum(x)\n", "1:9", "character '²' is not allowed"),
    ("input x[d]\nparam w[d]\nL = sum(w / (1 - 1))\n", "3:14", "the divisor is a constant 0"),
    ("input x[d]\nparam w[d]\nL = sum(w * log(0))\n", "3:13", "log() of a constant is undefined"),
    ("input x[d]\nparam ｗ[d]\nL = sum(x)\n", "2:7", "character 'ｗ' is not allowed"),
]


def _run(tmp_path, capsys, text, name="bad.gp"):
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    status = main([str(f)])
    err = capsys.readouterr().err
    return status, err, str(f)


@pytest.mark.parametrize("text,where,phrase", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_model_file_is_one_line_with_position(tmp_path, capsys, text, where, phrase):
    status, err, path = _run(tmp_path, capsys, text)
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err
    assert phrase in lines[0], lines[0]
    if where is not None:
        assert lines[0].startswith(f"error: {path}:{where}"), lines[0]


def test_enough_hostile_files():
    assert len(BAD) >= 30


def test_nothing_typed_is_executed(tmp_path, capsys):
    marker = tmp_path / "pwned"
    for text in (f"input x[d]\nL = __import__('os').system('touch {marker}')\n",
                 "input x[d]\nL = sum(x).__class__.__bases__[0].__subclasses__()\n",
                 f"input x[d]\nL = exec('open(\"{marker}\", \"w\")')\n"):
        status, err, _ = _run(tmp_path, capsys, text)
        assert status == 2
    assert not marker.exists()


def test_the_parser_never_evaluates():
    import derive.model_file as m

    with open(m.__file__, encoding="utf-8") as fh:
        source = fh.read()
    for banned in ("eval(", "exec(", "sympify(", "parse_expr(", "__import__"):
        assert banned not in source


@pytest.mark.parametrize("path,phrase", [("/nonexistent/m.gp", "cannot read model file"),
                                         (".", "not a regular file")])
def test_unreadable_model_files(capsys, path, phrase):
    assert main([path if path != "." else "./"]) == 2
    assert phrase in capsys.readouterr().err


def test_binary_and_huge_files(tmp_path, capsys):
    f = tmp_path / "bin.gp"
    f.write_bytes(b"\xff\xfe\x00input")
    assert main([str(f)]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    f.write_text("# x\n" * 70_000)
    assert main([str(f)]) == 2
    assert "characters" in capsys.readouterr().err


def test_options_of_the_built_ins_are_refused(tmp_path, capsys):
    f = tmp_path / "ok.gp"
    f.write_text("input x[d]\nparam w[d]\nL = sum(w * x)\n")
    for flags, phrase in ((["--steps", "3"], "--steps is an option of the built-in"),
                          (["--wrt", "q"], "--wrt 'q' is not a param or input"),
                          (["--seed", "1"], "--seed is for numeric checks"),
                          (["--check", "--latex"], "drop --latex")):
        assert main([str(f), *flags]) == 2
        assert phrase in capsys.readouterr().err


def test_a_subprocess_sees_one_line(tmp_path):
    f = tmp_path / "bad.gp"
    f.write_text("input x[d]\nL = sum(x @ x @ x)\n")
    r = subprocess.run([sys.executable, "-m", "derive", str(f)], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": os.getcwd()}, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and f"{f}:2:" in r.stderr
