"""Fuzzing the expression parser and the CLI: every input either parses or is
refused with one clean line; nothing executes, nothing hangs, no traceback.

CI runs a few thousand parser inputs and a few hundred CLI runs;
HYPOTHESIS_PROFILE=thorough runs ten times as many.
"""
import os
import signal
from contextlib import contextmanager

from hypothesis import HealthCheck, given, settings, strategies as st

from derive.cli import main
from derive.expr import ExprError, parse

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
PER_INPUT_SECONDS = 20  # a hang guard, not a timing: typical inputs take milliseconds


@contextmanager
def deadline(seconds=PER_INPUT_SECONDS):
    def hang(signum, frame):
        raise AssertionError(f"an input took longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


NAMES = ["x", "y", "z", "yhat_1", "yhat_2", "y_1", "y_2", "pi", "E", "exp", "__import__", "os", "_x"]
FUNCS = ["exp", "log", "ln", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "softplus", "abs", "max", "min",
         "eval", "open", "getattr"]
NUMBERS = ["0", "1", "2", "0.5", "1e-3", "1e30", "1e31", "10**10**10", "9" * 60, "0x1F", "1_000", "3j", "1e400"]
INJECTION = ["__import__('os').system('true')", "().__class__.__bases__[0].__subclasses__()",
             "exec('1')", "eval('1')", "open('/etc/passwd').read()", "x.__globals__", "lambda: 0",
             "[x for x in ()]", "f'{x}'", "x if y else z", "(x := 1)", "*x", "x; y", "import os", "\x00",
             "yhat[0]", "x.real", "globals()", "...", "x[1:2]", "b'x'"]


def _grammar():
    leaf = st.sampled_from(NAMES + NUMBERS)
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(st.sampled_from(FUNCS), st.lists(inner, min_size=1, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**", "^", "%", "//", "@", "<", "and"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda a: f"-{a}"),
        inner.map(lambda a: "(" * 30 + a + ")" * 30),
    ), max_leaves=12)


INPUTS = st.one_of(
    st.text(max_size=80),  # any unicode
    st.text(alphabet="xyz_0123456789()+-*/^.,[]'\" ", max_size=60),
    _grammar(),
    st.sampled_from(INJECTION),
    st.tuples(_grammar(), st.sampled_from(INJECTION)).map(lambda t: f"{t[0]} + {t[1]}"),
    st.integers(min_value=1, max_value=400).map(lambda n: "(" * n + "x" + ")" * n),
    st.integers(min_value=1, max_value=200).map(lambda n: "exp(" * n + "x" + ")" * n),
    st.integers(min_value=1, max_value=300).map(lambda n: "x" + "+x" * n),
)


@settings(max_examples=20000 if THOROUGH else 2500, deadline=None, derandomize=not THOROUGH,
          suppress_health_check=list(HealthCheck))
@given(text=INPUTS, variables=st.sampled_from([None, "z", r"(yhat|y)_[1-9][0-9]?"]))
def test_parser_parses_or_refuses_cleanly(text, variables):
    with deadline():
        try:
            e = parse(text, variables=variables)
        except ExprError as err:
            msg = str(err)
            assert msg and "\n" not in msg and "Traceback" not in msg
            return
    assert e.tree and isinstance(e.variables, tuple)


@settings(max_examples=3000 if THOROUGH else 300, deadline=None, derandomize=not THOROUGH,
          suppress_health_check=list(HealthCheck))
@given(text=INPUTS, mode=st.sampled_from(["forward", "reverse"]), json_out=st.booleans())
def test_cli_trace_exits_0_1_or_2_with_one_line_errors(text, mode, json_out, capsys):
    argv = ["trace", text, "--at", "x=1/3", "y=2", "z=-1/2", "--mode", mode] + (["--json"] if json_out else [])
    with deadline():
        try:
            status = main(argv)
        except SystemExit as e:  # pragma: no cover - main never exits itself
            raise AssertionError(f"main raised SystemExit({e.code})") from e
    out, err = capsys.readouterr()
    assert status in (0, 1, 2), (text, status, err)  # 3 would be an internal error
    if status == 2:
        assert out == "" and err.startswith("error: ") and err.count("\n") == 1, (text, err)
    else:
        assert "Traceback" not in out + err and out


@settings(max_examples=200 if THOROUGH else 25, deadline=None, derandomize=not THOROUGH,
          suppress_health_check=list(HealthCheck))
@given(text=INPUTS, flag=st.sampled_from(["--loss", "--activation", "--output-activation"]))
def test_cli_typed_options_exit_0_or_2_with_one_line_errors(text, flag, capsys):
    with deadline(60):
        status = main(["sigmoid_mlp", flag, text, "--no-proof"])
    out, err = capsys.readouterr()
    assert status in (0, 2), (text, status, err)
    if status == 2:
        assert out == "" and err.startswith("error: ") and err.count("\n") == 1, (text, err)
