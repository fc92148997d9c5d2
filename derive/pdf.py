"""LaTeX documents → PDF with pdflatex, or one clear line saying why not."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import UsageError

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
        head += [r"\title{%s}" % title, r"\date{}", r"\maketitle"]
    if toc:
        head.append(r"\tableofcontents")
    return "\n".join([*head, body, r"\end{document}", ""])


def compile_pdf(tex: str, out: str, *, runs: int = 1, timeout: int = 600) -> None:
    """Write ``tex`` compiled to the PDF file ``out``; raises UsageError when
    pdflatex is missing or reports an error (naming its first message)."""
    exe = shutil.which("pdflatex")
    if exe is None:
        raise UsageError(f"-o {out} needs pdflatex on PATH (Debian: apt-get install texlive-latex-base "
                         f"texlive-latex-recommended); write {Path(out).with_suffix('.tex').name} instead")
    with tempfile.TemporaryDirectory(prefix="gradproof-") as tmp:
        src = Path(tmp) / "doc.tex"
        src.write_text(tex, encoding="utf-8")
        for _ in range(runs):
            try:
                r = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", src.name], cwd=tmp,
                                   capture_output=True, text=True, errors="replace", timeout=timeout)
            except subprocess.TimeoutExpired:
                raise UsageError(f"pdflatex took longer than {timeout} s on {out}") from None
            if r.returncode != 0:
                first = next((ln for ln in r.stdout.splitlines() if ln.startswith("!")), "unknown error")
                raise UsageError(f"pdflatex could not compile {out}: {first.lstrip('! ')}")
        try:
            shutil.copyfile(Path(tmp) / "doc.pdf", out)
        except OSError as e:
            raise UsageError(f"cannot write {out!r}: {e.strerror}") from None
