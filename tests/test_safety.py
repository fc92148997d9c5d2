"""What reaches TeX and the terminal, and what is left behind: nothing typed runs, no state of
standard output gives a traceback, an interruption leaves no temporary directory or partial file."""
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from derive import pdf
from derive.files import write_atomic
from derive.printing import tex_text

ROOT = Path(__file__).resolve().parents[1]
PAYLOADS = [r"\input{/etc/passwd}", r"\immediate\write18{touch pwned}", r"\loop\iftrue\repeat",
            r"\catcode`\^^[=13", "\x1b[2J\x1b[31m✓ HOLDS", "a~b#c$d%e&f_g{h}i^j"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_text_sent_to_tex_is_only_text(payload):
    out = tex_text(payload)
    assert "\x1b" not in out
    bare = out.replace(r"\textbackslash{}", "").replace(r"$\sim$", "").replace(r"\^{}", "")
    for special in ("\\", "{", "}", "#", "%", "&", "_", "$"):  # every one escaped (or inside the $…$ we write)
        bare = bare.replace("\\" + special, "")
    assert "\\" not in bare.replace(r"$\checkmark$", ""), out


def test_pdflatex_runs_without_shell_escape_and_with_paranoid_files(monkeypatch, tmp_path):
    seen = {}

    def fake_run(cmd, cwd, env, **kw):
        seen.update(cmd=cmd, env=env, cwd=cwd, timeout=kw["timeout"])
        (Path(cwd) / "doc.pdf").write_bytes(b"%PDF-1.4\n")
        return subprocess.CompletedProcess(cmd, 0, "", "")
    monkeypatch.setattr(pdf.shutil, "which", lambda _: "/usr/bin/pdflatex")
    monkeypatch.setattr(pdf.subprocess, "run", fake_run)
    monkeypatch.setenv("TEXMFCNF", "/somewhere/else")
    pdf.compile_pdf(r"\documentclass{article}\begin{document}x\end{document}", str(tmp_path / "out.pdf"))
    assert "-no-shell-escape" in seen["cmd"] and seen["timeout"] <= 60
    env = seen["env"]
    assert env["openin_any"] == "p" and env["openout_any"] == "p" and env["shell_escape"] == "f"
    assert "TEXMFCNF" not in env and env["TEXMFOUTPUT"] == seen["cwd"]
    assert (tmp_path / "out.pdf").read_bytes() == b"%PDF-1.4\n"


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_a_model_title_cannot_read_files_into_the_pdf(tmp_path):
    model = tmp_path / "m.gp"
    model.write_text("# \\input{/etc/hostname} \\immediate\\write18{touch pwned}\n"
                     "input A[n, d]\ninput b[n]\nparam x[d]\nr = A @ x - b\nL = 0.5 * sum(r ** 2)\n")
    tex = subprocess.run([sys.executable, "-m", "derive", str(model), "--latex", "--no-proof"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert tex.returncode == 0, tex.stderr
    assert "\\input{" not in tex.stdout and "\\write18" not in tex.stdout
    r = subprocess.run([sys.executable, "-m", "derive", str(model), "--no-proof", "-o", "m.pdf"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "pwned").exists()


def _cli(*argv, **kw):
    return subprocess.run([sys.executable, "-m", "derive", *argv], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "GRADPROOF_CACHE": "off"}, **kw)


def test_full_or_closed_stdout_is_one_line_and_nonzero():
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "derive", "list"], stdout=full, stderr=subprocess.PIPE,
                           text=True, cwd=ROOT)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "error: cannot write to standard output: No space left on device"]
    r = subprocess.run(f"{sys.executable} -m derive list >&-", shell=True, stderr=subprocess.PIPE, text=True,
                       cwd=ROOT)
    assert r.returncode == 2 and "standard output is closed" in r.stderr and "Traceback" not in r.stderr


def test_stdout_that_cannot_encode_unicode_gets_plain_ascii():
    r = subprocess.run([sys.executable, "-m", "derive", "shared_bias", "--no-proof"], capture_output=True, cwd=ROOT,
                       env={**os.environ, "PYTHONIOENCODING": "ascii", "GRADPROOF_CACHE": "off"})
    assert r.returncode == 0 and b"Traceback" not in r.stderr
    assert r.stderr.decode().splitlines()[0].startswith("note: standard output cannot encode Unicode")
    out = r.stdout.decode("ascii")  # every byte is ASCII
    assert "delta_hidden = z_bar1 = g'(z1) (*) h_bar1" in out and "dL/db(1) = (dz1/db(1))^T" in out


def test_an_unwritable_output_file_is_one_line_and_leaves_nothing(tmp_path):
    r = _cli("shared_bias", "--no-proof", "-o", str(tmp_path / "missing" / "x.tex"))
    assert r.returncode == 2 and r.stderr.startswith("error: cannot write")
    assert not list(tmp_path.rglob("*.part"))


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_sigterm_during_pdflatex_leaves_no_temporary_directory_or_pdf(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from derive import cli
        loop = r"\\documentclass{{article}}\\begin{{document}}\\loop\\iftrue\\repeat\\end{{document}}"
        cli.standalone = lambda body: loop
        sys.exit(cli.main(["shared_bias", "--no-proof", "-o", "out.pdf"]))
    """)
    env = {**os.environ, "TMPDIR": str(tmp_path), "GRADPROOF_CACHE": "off"}
    p = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not list(tmp_path.glob("gradproof-*")) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # pdflatex is spinning
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=60)[1]
    assert p.returncode == 130 and err.strip().splitlines()[-1] == "interrupted", err
    assert not list(tmp_path.glob("gradproof-*")) and not (tmp_path / "out.pdf").exists()
    assert not list(tmp_path.glob(".out.pdf.*"))


def test_control_characters_never_reach_the_terminal(tmp_path, capsys):
    from derive.cli import main
    model = tmp_path / "m.gp"
    model.write_text("# title \x1b[2J\x1b[31m fake\ninput A[n, d]\ninput b[n]\nparam x[d]\nr = A @ x - b\n"
                     "L = 0.5 * sum(r ** 2)\n")
    assert main([str(model), "--no-proof"]) == 2  # refused, with the column; the message carries no ESC
    err = capsys.readouterr().err
    assert "\x1b" not in err and "m.gp:1:9: control character" in err
    from derive.cli import printable
    assert printable("ok\x1b[2J ✓\u202e\r\n\tend") == "ok[2J ✓\n\tend"
    assert main(["trace", "x + \x1b[2Jy\x07", "--at", "x=1", "y=2"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and err.count("\n") == 1


def test_an_output_file_keeps_its_mode_and_a_symlink_its_target(tmp_path):
    target = tmp_path / "real.tex"
    target.write_text("old")
    target.chmod(0o600)
    link = tmp_path / "link.tex"
    link.symlink_to(target)
    write_atomic(str(link), b"new")
    assert link.is_symlink() and target.read_text() == "new"
    assert (target.stat().st_mode & 0o777) == 0o600


@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="compiling needs pdflatex, which is not on PATH (.ci/run installs texlive-latex-base)")
def test_any_characters_in_titles_and_names_still_compile(tmp_path):
    model = tmp_path / "t.gp"
    model.write_text("# Résumé of ω-net 😀 ~ $x$\ninput A[n, d]\ninput b[n]\nparam x[d]\nr = A @ x - b\n"
                     "L = 0.5 * sum(r ** 2)\n", encoding="utf-8")
    for argv in ([str(model), "--no-proof"], ["trace", "a_b_c*2", "--at", "a_b_c=1"],
                 [str(ROOT / "examples" / "models" / "lstm_step.gp"), "--wrt", "h_prev", "--no-proof"]):
        r = _cli(*argv, "-o", str(tmp_path / "out.pdf"))
        assert r.returncode == 0, (argv, r.stderr[-800:])
