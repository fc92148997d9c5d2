"""Progress on a terminal, silence elsewhere and with --quiet; Ctrl-C is one line and exit 130."""
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "GRADPROOF_CACHE": "off"}


def _on_a_terminal(*argv) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; (exit status, what it drew there)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "gradproof", *argv], stdout=subprocess.DEVNULL, stderr=slave,
                         cwd=ROOT, env=ENV)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(timeout=300), out.decode(errors="replace")


def test_a_long_check_shows_progress_with_counts_on_a_terminal():
    status, drawn = _on_a_terminal("shared_bias", "--check")
    assert status == 0
    assert "checking shared_bias (" in drawn and "/16 …" in drawn
    assert drawn.endswith("\r\x1b[K")  # the line is cleared before the result


def test_quiet_and_a_pipe_show_no_progress():
    status, drawn = _on_a_terminal("shared_bias", "--check", "--quiet")
    assert status == 0 and drawn == ""
    r = subprocess.run([sys.executable, "-m", "gradproof", "shared_bias", "--check"], capture_output=True,
                       text=True, cwd=ROOT, env=ENV, timeout=300)
    assert r.returncode == 0 and r.stderr == ""


def _interrupt(after: float, *argv, module="gradproof") -> subprocess.CompletedProcess:
    p = subprocess.Popen([sys.executable, "-m", module, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         cwd=ROOT, env=ENV, text=True)
    time.sleep(after)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    # while SymPy is imported (by either command: derive/__init__ imports nothing, so the handler is
    # in place first), and during a long proof (no JAX: a Ctrl-C inside jaxlib's own initialisation
    # can abort the interpreter, which no Python code can catch)
    for after, argv, module in ((0.3, ["shared_bias", "--check"], "gradproof"), (0.3, ["shared_bias"], "derive"),
                                (4.0, ["rnn_bptt", "--steps", "15"], "gradproof")):
        r = _interrupt(after, *argv, "-o", str(tmp_path / "out.txt"), module=module)
        assert (r.returncode, r.stderr) == (130, "interrupted\n"), (after, module, r.stderr[-500:])
    assert list(tmp_path.iterdir()) == []  # no output file, and no half-written one
