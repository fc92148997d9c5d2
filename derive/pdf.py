"""LaTeX documents → PDF with pdflatex, or one clear line saying why not."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import UsageError
from .files import write_atomic

__all__ = ["standalone", "compile_pdf", "PREAMBLE"]

PREAMBLE = [
    r"\documentclass[11pt]{article}",
    r"\usepackage[margin=2cm]{geometry}",
    r"\usepackage{amsmath,amssymb}",
    r"\allowdisplaybreaks",
]


def standalone(body: str, *, title: str = "", toc: bool = False) -> str:
    """Wrap a LaTeX body in a document that compiles with pdflatex."""
    head = [*PREAMBLE, r"\begin{document}"]
    if title:
        head += [rf"\title{{{title}}}", r"\date{}", r"\maketitle"]
    if toc:
        head.append(r"\tableofcontents")
    return "\n".join([*head, body, r"\end{document}", ""])


TIMEOUT = 60  # seconds per pdflatex run: the longest document (the report) takes a few


def _tex_env(tmp: str) -> dict:
    """pdflatex's environment: no shell escape, and files read and written only in its own
    directory (``openin_any``/``openout_any`` = p: paranoid, no absolute paths or ``..``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEXMF", "TEXINPUTS"))}
    env.update(openin_any="p", openout_any="p", shell_escape="f", TEXMFOUTPUT=tmp)
    return env


def compile_pdf(tex: str, out: str, *, runs: int = 1, timeout: int = TIMEOUT) -> None:
    """Write ``tex`` compiled to the PDF file ``out``; raises UsageError when
    pdflatex is missing or reports an error (naming its first message).

    pdflatex runs with ``-no-shell-escape`` in its own temporary directory with
    paranoid file access and a timeout; ``out`` is replaced atomically, so it is
    either the whole PDF or untouched.
    """
    exe = shutil.which("pdflatex")
    if exe is None:
        raise UsageError(f"-o {out} needs pdflatex on PATH (Debian: apt-get install texlive-latex-base "
                         f"texlive-latex-recommended); write {Path(out).with_suffix('.tex').name} instead")
    with tempfile.TemporaryDirectory(prefix="gradproof-") as tmp:
        src = Path(tmp) / "doc.tex"
        src.write_text(tex, encoding="utf-8")
        for _ in range(runs):
            try:
                r = subprocess.run([exe, "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
                                    src.name], cwd=tmp, env=_tex_env(tmp), stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True, errors="replace", timeout=timeout)
            except subprocess.TimeoutExpired:
                raise UsageError(f"pdflatex took longer than {timeout} s on {out}") from None
            if r.returncode != 0:
                first = next((ln for ln in r.stdout.splitlines() if ln.startswith("!")), "unknown error")
                raise UsageError(f"pdflatex could not compile {out}: {first.lstrip('! ')}")
        write_atomic(out, (Path(tmp) / "doc.pdf").read_bytes())
