"""Printers: SymPy's own, subclassed so the output reads as a person writes it.

``UnicodePrinter`` (a ``StrPrinter``) and ``LatexPrinter`` (SymPy's) add one
``_print_<Class>`` method per node kind the engine emits: adjoints as h̄ and δ,
Hadamard products as ⊙, generic derivatives as g′(z₁), elementwise bodies
with the vectors in place of their scalar arguments, sums as Σⱼ.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter as _SympyLatex
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.printing.str import StrPrinter

from .functions import is_generic
from .matexpr import Pointwise
from .symbols import SUB as _SUB, SUP as _SUP, UNSUB, tex_text  # noqa: F401  (tex_text is re-exported)

__all__ = ["UnicodePrinter", "LatexPrinter", "unicode", "latex"]



def _fname(name: str, tex: bool) -> str:
    """Display name of an undefined function class: g1' → g₁′, dl_2 → ∂ℓ/∂ŷ₃."""
    m = re.fullmatch(r"dl_(\d+)", name)
    if m:
        i = int(m.group(1)) + 1
        return rf"\partial_{{{i}}}\ell" if tex else f"∂{i}ℓ"
    if name == "ell":
        return r"\ell" if tex else "ℓ"
    prime = name.endswith("'")
    base = name.rstrip("'")
    digits = re.search(r"\d+$", base)
    if digits:
        base = base[: digits.start()]
        base = base + (f"_{{{digits.group()}}}" if tex else digits.group().translate(_SUB))
    return base + ("'" if tex else "′") * prime if prime else base


def compound_pointwise(a) -> bool:
    """An unlabelled elementwise body that needs brackets next to ⊙ or a product."""
    if not isinstance(a, Pointwise) or a.label:
        return False
    body = a.fn.expr
    return isinstance(body, sp.Add) or sp.fraction(body)[1] != 1 or body.could_extract_minus_sign()


def _element_indices(e, show):
    """The indices worth printing, 1-based when concrete: none for a 1×1
    matrix, one for a row or column vector, two otherwise."""
    def one(i):
        return str(int(i) + 1) if getattr(i, "is_Integer", False) else show(i)

    rows, cols = e.parent.shape
    keep = [one(e.i)] if rows != 1 else []
    if cols != 1:
        keep.append(one(e.j))
    return keep


def _leading_sum(term) -> bool:
    return isinstance(term, sp.Sum) or (term.is_Mul and len(term.args) == 2 and term.args[0] == -1
                                        and isinstance(term.args[1], sp.Sum))


def _positive_first(terms):
    """ŷ − y rather than −y + ŷ: terms with a leading minus go last."""
    terms = list(terms)
    return [t for t in terms if not t.could_extract_minus_sign()] + [t for t in terms if t.could_extract_minus_sign()]


def _order(args):
    # labelled pointwise factors (g′(z)) read first, as in g′(z₁) ⊙ (Uᵀ δ)
    return sorted(args, key=lambda a: (not isinstance(a, Pointwise), not getattr(a, "label", "")))


class _MatrixForms:
    """Transpose, matrix product and Hadamard product, shared by both printers;
    each printer supplies ``_wrap`` (brackets) and its operator symbols."""

    _T = "ᵀ"
    _ODOT = " ⊙ "
    _NAME_INDEX = 0  # which of (unicode, latex) in the ``names`` setting

    def _name(self, s):
        return self._settings["names"].get(s, (s, s))[self._NAME_INDEX]

    def _as_ordered_terms(self, expr, order=None):
        return _positive_first(super()._as_ordered_terms(expr, order))

    def _print_MatrixSymbol(self, e):
        return self._name(e.name)

    def _wrap(self, s):
        return f"({s})"

    def _print_Transpose(self, e):
        inner = self._print(e.arg)
        plain = isinstance(e.arg, sp.MatrixSymbol) and "/" not in inner and "frac" not in inner
        return (inner if plain else self._wrap(inner)) + self._T

    def _print_MatMul(self, e):
        coeff, mats = e.as_coeff_matrices()
        parts = []
        for m in mats:
            s = self._print(m)
            compound = isinstance(m, (sp.MatAdd, sp.HadamardProduct)) or compound_pointwise(m)
            parts.append(self._wrap(s) if compound else s)
        out = self._MATMUL.join(parts)
        if coeff == -1:
            return "-" + out
        return out if coeff == 1 else f"{self._print(coeff)}{self._SCALE}{out}"

    _MUL = "·"
    _MATMUL = " "  # between the factors of a matrix product
    _SCALE = " "  # between a scalar coefficient and a matrix

    def _print_Add(self, expr, order=None):
        """Terms positive first; a Σ that is not the last term is bracketed so
        that its body visibly ends (Σ_j (…) − y[i] is not ambiguous)."""
        terms = self._as_ordered_terms(expr, order=order)
        text = ""
        for k, term in enumerate(terms):
            t = self._print(term)
            neg = t.startswith("-")
            body = t[1:] if neg else t
            if isinstance(term, sp.Add) or (_leading_sum(term) and k < len(terms) - 1):
                body = self._wrap(body)
            if k == 0:
                text = ("-" if neg else "") + body
            else:
                text += (" - " if neg else " + ") + body
        return text

    def _rank(self, f):
        ranks = self._settings.get("ranks") or {}
        names = [a.name for a in f.atoms(sp.MatrixSymbol)]
        return max((ranks.get(n, len(ranks)) for n in names), default=-1)

    def _ordered_mul(self, e):
        """Factors in reverse-sweep order (nearest the loss first), as the
        chain rule produces them: (ŷ − y)·W₂[h]·z₁[h]·(1 − z₁[h])·x[j]."""
        if not self._settings.get("ranks"):
            return None
        coeff, factors = e.as_coeff_mul()
        if any(f.is_Pow and f.exp.is_negative for f in factors) or len(factors) < 2:
            return None
        factors = sorted(factors, key=lambda f: (-self._rank(f), isinstance(f, sp.Add)))
        parts = [self._wrap(self._print(f)) if isinstance(f, (sp.Add, sp.Sum)) else self._print(f)
                 for f in factors]
        text = self._MUL.join(parts)
        if coeff == -1:
            return "-" + text
        return text if coeff == 1 else self._print(coeff) + self._MUL + text

    def _print_HadamardProduct(self, e):
        parts = []
        for a in _order(e.args):
            s = self._print(a)
            compound = isinstance(a, (sp.MatAdd, sp.MatMul)) or compound_pointwise(a)
            parts.append(self._wrap(s) if compound else s)
        return self._ODOT.join(parts)


class UnicodePrinter(_MatrixForms, StrPrinter):
    """One-line Unicode output; ``names`` maps symbol names to (unicode, latex)."""

    _default_settings = dict(StrPrinter._default_settings, names={}, index_names={}, ranks={})

    _NAME_INDEX = 0

    def _print_Symbol(self, e):
        return self._settings["index_names"].get(e.name, self._name(e.name))

    _print_Dummy = _print_Symbol

    def _print_MatAdd(self, e):
        args = sorted(e.args, key=lambda a: not isinstance(a, sp.Identity))  # I + W …, as written by hand
        terms = [self._print(a) for a in args]
        terms = [t for t in terms if not t.startswith("-")] + [t for t in terms if t.startswith("-")]
        out = ""
        for i, t in enumerate(terms):
            if t.startswith("-"):
                out += (" - " if i else "-") + t[1:]
            else:
                out += (" + " if i else "") + t
        return out

    def _print_DiagMatrix(self, e):
        return f"diag({self._print(e.args[0])})"

    def _print_MatPow(self, e):  # W W is W²: a matrix product, not elementwise
        return " @ ".join([self._print(e.base)] * int(e.exp)) if e.exp.is_Integer and e.exp > 0 else str(e)

    def _print_Identity(self, e):
        return "I"

    def _print_MatPow(self, e):
        base = self._print(e.base)
        base = base if isinstance(e.base, sp.MatrixSymbol) else f"({base})"
        power = str(e.exp)
        return base + (power.translate(_SUP) if power.lstrip("-").isdigit()
                       else f"^{power}")

    def _print_OneMatrix(self, e):
        return "1"

    def _print_Pointwise(self, e):
        args = ", ".join(self._print(a) for a in e.operands)
        if e.label:
            base = e.label.rstrip("′")
            return f"{_fname(base, tex=False)}{e.label[len(base):]}({args})"
        subs = {v: sp.Symbol(f"\x00{k}") for k, v in enumerate(e.fn.variables)}
        body = e.fn.expr.xreplace(subs)
        text = _ElementwiseBody(_pick(self._settings)).doprint(body)
        for k, a in enumerate(e.operands):
            s = self._print(a)
            text = text.replace(f"\x00{k}", s)
        return text

    def _print_MatrixElement(self, e):
        parent = e.parent
        name = self._print(parent)
        idx = _element_indices(e, self._print)
        if not idx:
            return name
        if getattr(parent, "name", "").startswith("grad_") or not isinstance(parent, sp.MatrixSymbol):
            name = f"({name})"
        return f"{name}[{','.join(idx)}]"

    def _print_Sum(self, e):
        body = self._print(e.function)
        if isinstance(e.function, sp.Add):
            body = f"({body})"
        var = "".join(self._print(lim[0]) for lim in e.limits)
        return f"Σ_{var} {body}"

    def _print_Heaviside(self, e):
        return f"𝟙[{self._print(e.args[0])} > 0]"

    def _print_Function(self, e):
        name = _fname(type(e).__name__, tex=False)
        return f"{name}({', '.join(self._print(a) for a in e.args)})"

    def _print_Mul(self, e):
        ordered = self._ordered_mul(e)
        if ordered is not None:
            return ordered
        s = super()._print_Mul(e)
        return re.sub(r"(?<!\*)\*(?!\*)", "·", s).replace("**", "^")

    def _print_Pow(self, e, rational=False):
        if e.exp.is_Integer and e.exp > 1:
            base = self._print(e.base)
            if not (e.base.is_Atom or isinstance(e.base, (MatrixElement, sp.Function))):
                base = f"({base})"
            return base + str(e.exp).translate(_SUP)
        if e.exp == sp.S.Half or e.exp == -sp.S.Half:
            base = self._print(e.base)
            root = f"√{base}" if e.base.is_Atom and not e.base.is_Rational or e.base.is_Integer else f"√({base})"
            return root if e.exp > 0 else f"1/{root}"
        return super()._print_Pow(e, rational).replace("**", "^")

    def _print_Pi(self, e):
        return "π"

    def _print_Exp1(self, e):
        return "e"



def _pick(settings):
    return {"names": settings["names"], "index_names": settings["index_names"]}  # body: no ranks


def _fraction(e):
    """numerator, denominator factors, with a minus sign moved into a
    denominator factor when that reads better: −(ŷ − y)/(ŷ(ŷ − 1)) → (ŷ − y)/(ŷ(1 − ŷ))."""
    num, den = sp.fraction(e)
    dens = list(sp.Mul.make_args(den))
    if den != 1 and num.could_extract_minus_sign():
        for i, f in enumerate(dens):
            if isinstance(f, sp.Add) and f.could_extract_minus_sign() is False:
                dens[i] = sp.Add(*[-a for a in f.args], evaluate=False)
                num = -num
                break
    if num.could_extract_minus_sign() and isinstance(num, sp.Add):
        pass
    coeff, rest = num.as_coeff_Mul()
    if isinstance(rest, sp.Add) and rest.could_extract_minus_sign():
        coeff, rest = -coeff, sp.Add(*[-a for a in rest.args])
    return coeff, [f for f in sp.Mul.make_args(rest) if f != 1], [f for f in dens if f != 1]


class _ElementwiseMul:
    """Print a scalar body whose symbols stand for whole vectors: products of
    vectors are Hadamard products (⊙), quotients elementwise (⊘)."""

    _OSLASH = " ⊘ "

    def _print_Mul(self, e):
        coeff, nums, dens = _fraction(e)
        text = self._ODOT.join(self._paren(f, len(nums) > 1 or coeff != 1 or dens) for f in nums) or "1"
        if coeff == -1:
            text = "-" + text
        elif coeff != 1:
            text = f"{self._print(coeff)} {text}"
        if dens:
            if len(nums) > 1 or coeff != 1:
                text = self._wrap(text)
            d = self._ODOT.join(self._paren(f, len(dens) > 1) for f in dens)
            text = text + self._OSLASH + (self._wrap(d) if len(dens) > 1 else d)
        return text

    def _paren(self, f, need=True):
        s = self._print(f)
        return self._wrap(s) if need and isinstance(f, sp.Add) else s


class _ElementwiseBody(_ElementwiseMul, UnicodePrinter):
    pass


class LatexPrinter(_MatrixForms, _SympyLatex):
    """LaTeX with the same conventions; ``names`` supplies the LaTeX names."""

    _T = r"^{\top}"
    _ODOT = r" \odot "

    def _wrap(self, s):
        return rf"\left({s}\right)"

    _default_settings = dict(_SympyLatex._default_settings, names={}, index_names={}, ranks={})
    _MUL = " "

    def _print_Mul(self, e):
        ordered = self._ordered_mul(e)
        return ordered if ordered is not None else super()._print_Mul(e)

    _NAME_INDEX = 1

    def _print_Symbol(self, e, style="plain"):
        if e.name in self._settings["index_names"]:
            return self._settings["index_names"][e.name]
        if e.name in self._settings["names"]:
            return self._name(e.name)
        return super()._print_Symbol(e)

    def _print_DiagMatrix(self, e):
        return rf"\operatorname{{diag}}\left({self._print(e.args[0])}\right)"

    def _print_Identity(self, e):
        return "I"

    def _print_OneMatrix(self, e):
        return r"\mathbf{1}"

    def _print_Pointwise(self, e):
        args = ", ".join(self._print(a) for a in e.operands)
        if e.label:
            return rf"{latex_label(e.label)}\left({args}\right)"
        subs = {v: sp.Symbol(f"XARG{k}X") for k, v in enumerate(e.fn.variables)}
        text = _LatexElementwiseBody(_pick(self._settings)).doprint(e.fn.expr.xreplace(subs))
        for k, a in enumerate(e.operands):
            text = text.replace(f"XARG{k}X", self._print(a))
        return text

    def _print_MatrixElement(self, e):
        name = self._print(e.parent)
        idx = _element_indices(e, self._print)
        if not idx:
            return name
        if "_" in name or "^" in name or "\\" in name:
            name = rf"\left({name}\right)"
        return f"{name}_{{{''.join(idx)}}}"

    def _print_Sum(self, e):
        var = "".join(self._print(lim[0]) for lim in e.limits)
        body = self._print(e.function)
        if isinstance(e.function, sp.Add):
            body = rf"\left({body}\right)"
        return rf"\sum_{{{var}}} {body}"

    def _print_Heaviside(self, e, exp=None):
        return rf"\mathbb{{1}}\left[{self._print(e.args[0])} > 0\right]"

    def _print_Function(self, e, exp=None):
        cls = type(e).__name__
        if is_generic(e):
            name = _fname(cls, tex=True)
            s = rf"{name}\left({', '.join(self._print(a) for a in e.args)}\right)"
            return s if exp is None else rf"{s}^{{{exp}}}"
        return super()._print_Function(e, exp)


def latex_label(label: str) -> str:
    table = {"σ": r"\sigma", "tanh": r"\tanh", "relu": r"\operatorname{relu}",
             "softplus": r"\operatorname{softplus}", "id": r"\operatorname{id}"}
    base = label.rstrip("′")
    primes = "'" * (len(label) - len(base))
    base = base.translate(UNSUB)
    if base in table:
        return table[base] + primes
    return _fname(base, tex=True) + primes


class _LatexElementwiseBody(_ElementwiseMul, LatexPrinter):
    _OSLASH = r" \oslash "


def unicode(expr, names=None, index_names=None, ranks=None) -> str:
    """Unicode one-line rendering of an engine expression. ``ranks`` (symbol
    name → position in the forward pass) orders scalar products as the
    reverse sweep produces them."""
    settings = {"names": names or {}, "index_names": index_names or {}, "ranks": ranks or {}}
    return UnicodePrinter(settings).doprint(expr).replace("-", "−")


def latex(expr, names=None, index_names=None, ranks=None) -> str:
    """LaTeX rendering of an engine expression (pure; nothing is printed)."""
    settings = {"names": names or {}, "index_names": index_names or {}, "ranks": ranks or {}}
    return LatexPrinter(settings).doprint(expr)


def _code_label(label: str) -> str:
    base = label.rstrip("′")
    primes = len(label) - len(base)
    base = base.translate(UNSUB).replace("σ", "sigmoid")
    return base + "_prime" * primes


def code_name(name: str) -> str:
    """ASCII variable name for pseudocode: bar_h1 → h1_bar, grad_yhat_L → dL_dyhat."""
    if name.startswith("bar_"):
        return name[4:].replace("_occ", "_") + "_bar"
    if name.startswith("grad_") and name.count("_") >= 2:
        return "dL_d" + name.split("_")[1]
    return name.replace("_occ", "_")


class CodePrinter(_MatrixForms, StrPrinter):
    """NumPy-flavoured pseudocode: @ for products, * for ⊙, .T for ᵀ."""

    _T = ".T"
    _ODOT = " * "
    _MUL = " * "

    def _print_MatrixSymbol(self, e):
        return code_name(e.name)

    _MATMUL = " @ "
    _SCALE = " * "

    def _print_MatAdd(self, e):
        """Terms joined by + and −, the sign read from each term's coefficient (not from its text)."""
        out = ""
        for k, a in enumerate(e.args):
            coeff = a.as_coeff_matrices()[0] if isinstance(a, sp.MatMul) else 1
            neg = getattr(coeff, "is_negative", False)
            text = self._print(-a if neg else a)
            out = (("-" if neg else "") + text) if k == 0 else out + (" - " if neg else " + ") + text
        return out

    def _print_DiagMatrix(self, e):
        return f"diag({self._print(e.args[0])})"

    def _print_Identity(self, e):
        return "I"

    def _print_Pointwise(self, e):
        args = ", ".join(self._print(a) for a in e.operands)
        if e.label:
            return f"{_code_label(e.label)}({args})"
        subs = {v: sp.Symbol(self._operand(a)) for v, a in zip(e.fn.variables, e.operands, strict=True)}
        return _PositiveFirstStr().doprint(e.fn.expr.xreplace(subs))

    def _operand(self, a):
        """An operand of an elementwise body: bracketed unless it is a name, so that
        1 − (u + v)² does not print as 1 − u + v**2."""
        text = self._print(a)
        return text if text.replace("_", "a").isalnum() else f"({text})"


class _PositiveFirstStr(StrPrinter):
    def _as_ordered_terms(self, expr, order=None):
        return _positive_first(super()._as_ordered_terms(expr, order))


def code(expr) -> str:
    """One-line NumPy-style rendering of an engine expression."""
    return CodePrinter().doprint(expr)


# -- long LaTeX lines -------------------------------------------------------------
_WIDTH_FREE = re.compile(r"\\(left|right|bigl|bigr|operatorname|mathrm|mathbb|text|hat|bar|dot|tilde|"
                         r"displaystyle|quad|qquad|,|;|!)(?![a-zA-Z])")
_COMMAND = re.compile(r"\\[a-zA-Z]+")
_SCRIPT = re.compile(r"[_^]\{([^{}]*)\}")


def tex_width(s: str) -> float:
    """A rough printed width of display math, in characters: commands count
    one, delimiter sizing and braces none, sub/superscripts about half, a
    fraction its wider part."""
    s = _WIDTH_FREE.sub("", s)
    s = re.sub(r"\\(?!frac)[a-zA-Z]+", "x", s)
    for _ in range(3):  # innermost scripts and fractions first
        s = _SCRIPT.sub(lambda m: "x" * ((len(m.group(1)) + 1) // 2), s)
        s = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", lambda m: "x" * max(len(m.group(1)), len(m.group(2))), s)
    return len(s.replace("{", "").replace("}", "").replace(" ", "")) * 1.0


def _unpaired_delimiters(s: str) -> str:
    """``\\left(…\\right)`` → fixed-size ``\\bigl(…\\bigr)``, or ``\\biggl``
    around a fraction, so that a line break may fall between them."""
    tokens = re.split(r"(\\left(?=[(\[|.]|\\\{)|\\right(?=[)\]|.]|\\\}))", s)
    stack, size = [], {}
    for k, tok in enumerate(tokens):
        if tok == "\\left":
            stack.append(k)
        elif tok == "\\right" and stack:
            opened = stack.pop()
            tall = "\\frac" in "".join(tokens[opened:k]) or "\\sum" in "".join(tokens[opened:k])
            size[opened] = size[k] = "bigg" if tall else "big"
    out = []
    for k, tok in enumerate(tokens):
        if tok == "\\left":
            out.append("\\" + size.get(k, "big") + "l")
        elif tok == "\\right":
            out.append("\\" + size.get(k, "big") + "r")
        else:
            out.append(tok)
    return "".join(out)


_BREAKS = (" + ", " - ", r" \odot ", r" \cdot ", r" \oslash ", r" \, ")


def _cuts(s: str) -> tuple[list, set, dict]:
    """Where a line may break: before a binary operator outside any brace group, and
    between two factors of a product (``implicit``: the new line starts with ·), but
    not between a sum's Σ_{…} and its summand; ``nesting``: how many sized parentheses
    (``\\bigl(`` … ``\\bigr)``) enclose each cut."""
    cuts, implicit, nesting, depth, parens = [], set(), {}, 0, 0
    for i, ch in enumerate(s):
        if s.startswith(("\\bigl", "\\biggl"), i):
            parens += 1
        elif s.startswith(("\\bigr", "\\biggr"), i):
            parens -= 1
        if ch in "{}":
            depth += 1 if ch == "{" else -1
        elif depth == 0 and i > 0:
            if any(s.startswith(op, i) for op in _BREAKS):
                cuts.append(i)
            elif ch == " " and s[i - 1] in ")}]" and _factor_follows(s[i + 1:]) and not _SUM_END.search(s[:i]):
                cuts.append(i)
                implicit.add(i)
            else:
                continue
            nesting[i] = parens
    return cuts, implicit, nesting


_SUM_END = re.compile(r"\\sum_\{[^{}]*\}(\^\{[^{}]*\})?$")


def _factor_follows(rest: str) -> bool:
    return rest[:1].isalpha() or bool(re.match(r"\\(?!bigr|right|cdot|odot|oslash)", rest))


def break_tex(s: str, width: float = 62.0) -> list[str]:
    """Split display math that would run past the margin into lines, at a
    binary operator outside any brace group; ``\\left(…\\right)`` pairs become
    ``\\bigl(…\\bigr)`` so a line may end inside them — but only where a line is
    still too wide when broken outside every parenthesis. A line that fits is
    returned whole.

    >>> break_tex("a + b", width=10)
    ['a + b']
    >>> break_tex(r"\\left(a + b\\right) \\odot c + d", width=4)
    ['\\\\bigl(a', '+ b\\\\bigr)', '\\\\odot c + d']
    >>> break_tex(r"\\left(a + b\\right) \\odot c + d", width=7)
    ['\\\\bigl(a + b\\\\bigr) \\\\odot c', '+ d']
    """
    if tex_width(s) <= width:
        return [s]
    s = _unpaired_delimiters(s)
    cuts, implicit, nesting = _cuts(s)
    lines = [(r"\cdot " if a in implicit else "") + s[a:b].strip() for a, b in _split(s, cuts, nesting, width)]
    return [ln for ln in lines if ln]


def _split(s: str, cuts: list, nesting: dict, width: float) -> list:
    """[(a, b)] lines: each as full as fits, ended at the fitting cut inside the fewest
    parentheses (among those that fill at least half a line), so a line breaks inside
    a parenthesised factor only when nothing outside it fits."""
    out, start = [], 0
    while tex_width(s[start:]) > width:
        fits = [c for c in cuts if c > start and tex_width(s[start:c]) <= width]  # not monotone in c: all of them
        if not fits:  # nothing fits: the next cut, and a line that runs over
            later = [c for c in cuts if c > start]
            if not later:
                break
            fits = later[:1]
        full = [c for c in fits if tex_width(s[start:c]) >= width / 2] or fits
        end = min(full, key=lambda c: (nesting[c], -c))
        out.append((start, end))
        start = end
    return out + [(start, len(s))]
