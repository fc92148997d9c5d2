"""One table of symbols for every printer and renderer.

Subscript and superscript digits, the Unicode ↔ LaTeX names of the symbols
prose uses (σ, ∂, ⊙, …), and the three conversions built on them:

* :func:`subscript` / :func:`superscript` — ``12`` → ``₁₂`` / ``¹²``;
* :func:`tex_text` — prose with Unicode math → LaTeX text (the one way user text reaches TeX);
* :func:`ascii_text` — a line for a verbatim block (ASCII only).
"""
from __future__ import annotations

import re
import unicodedata

__all__ = ["SUB", "SUP", "UNSUB", "ascii_text", "latex_symbols", "subscript", "superscript", "tex_subscript",
           "tex_text"]

SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
UNSUB = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def tex_subscript(latex: str, sub: str) -> str:
    """``latex`` with the subscript ``sub``, braced when it has one already (no double subscript).

    >>> print(tex_subscript("b", "(1)"), tex_subscript(r"h_{\\text{prev}}", "(1)"))
    b_{(1)} {h_{\\text{prev}}}_{(1)}
    """
    return f"{{{latex}}}_{{{sub}}}" if "_" in latex else f"{latex}_{{{sub}}}"


def subscript(n) -> str:
    """``subscript(12)`` is ``'₁₂'``."""
    return str(n).translate(SUB)


def superscript(n) -> str:
    """``superscript(-2)`` is ``'⁻²'``."""
    return str(n).translate(SUP)


_TEXT_MATH = {
    "σ": r"\sigma", "δ": r"\delta", "ℓ": r"\ell", "∇": r"\nabla", "∂": r"\partial", "Σ": r"\Sigma",
    "⊙": r"\odot", "⊘": r"\oslash", "→": r"\to", "−": "-", "·": r"\cdot", "′": "'",
    "≤": r"\le", "∈": r"\in", "ℝ": r"\mathbb{R}", "×": r"\times", "‖": r"\|",
    "½": r"\tfrac{1}{2}", "𝟙": r"\mathbb{1}", "≡": r"\equiv",
    "Δ": r"\Delta", "ŷ": r"\hat{y}", "≈": r"\approx", "≥": r"\ge", "|": "|", "<": "<", ">": ">",
    "ε": r"\varepsilon", "θ": r"\theta", "μ": r"\mu", "τ": r"\tau",
    "λ": r"\lambda", "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "η": r"\eta", "ρ": r"\rho", "Π": r"\Pi",
    "″": "''", "…": r"\ldots", "∞": r"\infty", "∝": r"\propto", "∫": r"\int", "√": r"\surd",
    "~": r"\sim", "✓": r"\checkmark", "✗": r"\times",
    "≠": r"\neq", "⇒": r"\Rightarrow", "π": r"\pi", "κ": r"\kappa", "∑": r"\sum", "∏": r"\prod", "±": r"\pm",
}
_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉₍₎ᵢⱼₗ₋ₙₖₜ", "0123456789()ijl-nkt", strict=True))
_SUPERSCRIPTS = dict(zip("ʰʲᵐᵏᵈ¹²ᵀ∗", ["h", "j", "m", "k", "d", "1", "2", r"\top ", "*"], strict=True))
_ACCENTS = {"\u0304": r"\bar", "\u0302": r"\hat"}
_TEXT_ESCAPE = {"_": r"\_", "&": r"\&", "%": r"\%", "#": r"\#", "$": r"\$", "{": r"\{", "}": r"\}",
                "\\": r"\textbackslash{}", "—": "---", "–": "--", "^": r"\^{}"}


def tex_text(s: str) -> str:
    """Prose with Unicode math (rule names, notes) → LaTeX text mode that
    pdflatex accepts: z₂ → $z_{2}$, σ′ → $\\sigma'$, h̄₁ → $\\bar{h}_{1}$.

    Every character TeX treats specially is escaped, the backslash included, and
    control characters are dropped: a string that reaches TeX is only ever text.

    >>> tex_text("affine z₂: input")
    'affine $z_{2}$: input'
    >>> print(tex_text("L = Σ_t ℓ_t, ∂a_t, δ_hidden; output_activation"))
    L = $\\Sigma _{t}$ $\\ell _{t}$, $\\partial a_{t}$, $\\delta _{\\text{hidden}}$; output\\_activation

    Letters pdflatex typesets from its default fonts (é, ü, ß) stay; any other
    character outside ASCII and the tables here (ω as prose, an emoji) becomes ``?``.

    >>> print(tex_text("\\\\input{/etc/passwd} ~ " + chr(27) + "[2J"))
    \\textbackslash{}input\\{/etc/passwd\\} $\\sim$ [2J
    >>> tex_text("Résumé of ω-net 😀")
    'Résumé of ?-net ?'
    """
    s = "".join(_decomposed(ch) for ch in s.replace("ŷ", "y\u0302"))
    pieces, i = [], 0  # pieces: (is_math, text)
    while i < len(s):
        math_before = bool(pieces) and pieces[-1][0]
        piece, i = (math_before and _math_tail(s, i, pieces[-1][1])) or _script(s, i) or _symbol(s, i) \
            or _character(s, i)
        pieces.append(piece)
    return _join(pieces)


_SUBSCRIPT_RUN = re.compile(r"_([A-Za-z0-9]+(?:_[A-Za-z0-9]+)*)")


def _math_tail(s: str, i: int, before: str):
    """What continues the math just written: a subscript (Σ_t, δ_hidden) or the variable of a ∂ (∂a)."""
    run = _SUBSCRIPT_RUN.match(s, i) if s[i] == "_" and not before.startswith("_") else None
    if run:  # the whole run, a_b_c → a_{\text{b\_c}}: one subscript, never two
        sub = run.group(1)
        return (True, "_{" + (sub if len(sub) == 1 or sub.isdigit() else rf"\text{{{sub.replace('_', chr(92) + '_')}}}")
                + "}"), run.end()
    single = i + 1 >= len(s) or not s[i + 1].isalpha()
    if before == _TEXT_MATH["∂"] + " " and s[i].isascii() and s[i].isalpha() and single:
        return (True, s[i]), i + 1
    return None


_LATIN = set("ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝßàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿ")  # in pdflatex's default fonts


def _decomposed(ch: str) -> str:
    """A letter with a bar or hat as letter + mark (x̄ → x, U+0304), which :func:`_symbol`
    typesets; any other character as it is (é stays é)."""
    if ch in _TEXT_MATH:
        return ch
    d = unicodedata.normalize("NFD", ch)
    return d if len(d) > 1 and all(m in _ACCENTS for m in d[1:]) else unicodedata.normalize("NFC", ch)


def _script(s: str, i: int):
    """A run of sub- or superscript characters at ``i``: ((True, "_{12}"), end), or None."""
    for table, mark in ((_SUBSCRIPTS, "_"), (_SUPERSCRIPTS, "^")):
        if s[i] in table:
            j = i
            while j < len(s) and s[j] in table:
                j += 1
            return (True, mark + "{" + "".join(table[c] for c in s[i:j]).strip() + "}"), j
    return None


def _symbol(s: str, i: int):
    """A letter that starts math (x̄, z₂, θ̂) at ``i``: ((True, "\\bar{x}"), end), or None."""
    ch, nxt = s[i], s[i + 1] if i + 1 < len(s) else ""
    letter = ch.isalpha() and ch.isascii() and not (i > 0 and s[i - 1].isalpha() and s[i - 1].isascii())
    marked = nxt in _ACCENTS or nxt in _SUBSCRIPTS or nxt in _SUPERSCRIPTS
    if not (letter and marked or ch in _TEXT_MATH and ch.isalpha() and nxt in _ACCENTS):
        return None
    tok, i = _TEXT_MATH.get(ch, ch), i + 1
    while i < len(s) and s[i] in _ACCENTS:
        tok = _ACCENTS[s[i]] + "{" + tok + "}"
        i += 1
    return (True, tok), i


def _character(s: str, i: int):
    """One character at ``i``: a math symbol, an escaped text character, or nothing (a control character)."""
    ch = s[i]
    if ch in _TEXT_MATH:
        return (True, _TEXT_MATH[ch] + (" " if _TEXT_MATH[ch][-1].isalpha() else "")), i + 1
    if ch in _ACCENTS:
        return (True, ""), i + 1
    if unicodedata.combining(ch):  # an accent TeX would not know
        return (False, ""), i + 1
    if ch in _TEXT_ESCAPE or ch in _LATIN or (ch.isascii() and (ch.isprintable() or ch == " ")):
        return (False, _TEXT_ESCAPE.get(ch, ch)), i + 1
    if ch.isprintable():
        return (False, "?"), i + 1
    return (False, " " if ch in "\t\n\r" else ""), i + 1  # control characters never reach TeX


def _join(pieces) -> str:
    """Adjacent math pieces become one $…$."""
    out, math = [], []
    for is_math, t in pieces + [(False, "")]:
        if is_math:
            math.append(t)
            continue
        if math:
            out.append("$" + "".join(math).strip() + "$")
            math = []
        out.append(t)
    return "".join(out)


def latex_symbols(latex: str) -> str:
    """Unicode letters and scripts left inside LaTeX (SymPy keeps a symbol's Unicode
    name in some function arguments, e.g. B(α, β)) → their LaTeX."""
    out = []
    for ch in latex:
        if ch in _TEXT_MATH and ch.isalpha():
            out.append(_TEXT_MATH[ch] + " ")
        elif ch in _SUBSCRIPTS:
            out.append("_{" + _SUBSCRIPTS[ch] + "}")
        elif ch in _SUPERSCRIPTS:
            out.append("^{" + _SUPERSCRIPTS[ch].strip() + "}")
        else:
            out.append(ch)
    return "".join(out)


_ASCII = {"∇ŷℓ": "grad_yhat(l)", "×": "x", "∂": "d", "…": "...", "−": "-", "≥": ">=", "≤": "<=", "≠": "!=",
          "≈": "~", "→": "->", "⇒": "=>", "·": "*", "⊙": "(*)", "⊘": "(/)", "∇": "grad ", "Σ": "sum", "∑": "sum",
          "Π": "prod", "∏": "prod", "√": "sqrt", "∞": "inf", "∝": "~", "∈": "in", "ℝ": "R", "±": "+-", "‖": "||",
          "ℓ": "l", "′": "'", "″": "''", "ᵀ": "^T", "²": "^2", "³": "^3", "¹": "^1", "ᵏ": "^k", "ᵐ": "^m",
          "ᵈ": "^d", "ʰ": "^h", "ʲ": "^j", "∗": "*", "✓": "ok", "✗": "FAIL", "—": "-", "–": "-", "“": '"',
          "”": '"', "’": "'", "𝟙": "1", "½": "1/2", "≡": "==", "⁻": "^-", "ŷ": "yhat", "x̄": "xbar",
          "θ̂": "theta_hat", "μ̂": "mu_hat", "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "Δ": "Delta",
          "ε": "eps", "η": "eta", "θ": "theta", "κ": "kappa", "λ": "lambda", "μ": "mu", "π": "pi", "ρ": "rho",
          "σ": "sigma", "τ": "tau", "₍": "(", "₎": ")", "ₙ": "_n", "ₖ": "_k", "ᵢ": "_i", "ⱼ": "_j", "ₜ": "_t",
          "ₗ": "_l"}
_MARKS = {"\u0304": "_bar", "\u0302": "_hat", "\u0307": "_dot"}  # combining macron, circumflex, dot above


def ascii_text(line: str) -> str:
    """Plain ASCII for a terminal that cannot show Unicode, or a LaTeX verbatim block:
    the symbols above spelled out (z₁ → z1, ŷ → yhat, h̄ → h_bar, ⊙ → (*)), anything
    else outside ASCII as ``?``."""
    for k, v in _ASCII.items():
        line = line.replace(k, v)
    out = []
    for ch in unicodedata.normalize("NFKD", line):
        if ch in _MARKS:
            out.append(_MARKS[ch])
        elif not unicodedata.combining(ch):
            out.append(ch if ord(ch) < 128 else "?")
    return "".join(out)
