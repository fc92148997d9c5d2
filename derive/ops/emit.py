"""Code emission from an operator's NumPy form.

An operator's code is its :meth:`~derive.ops.base.Operator.numpy` method run on
code instead of arrays: :class:`Code` records arithmetic as text and
:data:`CODE` stands for the array module, so ``xp.exp(z - xp.max(z, axis=-1,
keepdims=True))`` becomes the line ``numpy.exp((z - numpy.max(z, axis=-1,
keepdims=True)))``. A generated line is therefore the operator's NumPy form, read
as code, and cannot drift from the form the registry tests check against SymPy.

>>> from derive.ops import FUNCTIONS
>>> FUNCTIONS["sigmoid"].emit(["z"])
'(1 / (1 + numpy.exp((-z))))'
"""
from __future__ import annotations

__all__ = ["Code", "CODE", "emit"]


def _text(x) -> str:
    if isinstance(x, Code):
        return x.text
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(_text(v) for v in x) + "]"
    if isinstance(x, bool) or x is None:
        return repr(x)
    if isinstance(x, (int, float)):
        text = repr(float(x)) if isinstance(x, float) else repr(x)
        return f"({text})" if x < 0 else text  # -2.0 ** 2 would be -4
    raise TypeError(f"cannot emit code for a {type(x).__name__}")


class Code:
    """An array expression as Python text; every compound is bracketed."""

    __array_priority__ = 1000  # a NumPy scalar on the left defers to Code

    def __init__(self, text: str):
        self.text = text

    def __repr__(self):
        return self.text

    def _bin(self, op, other, reflected=False):
        a, b = (_text(other), self.text) if reflected else (self.text, _text(other))
        return Code(f"({a} {op} {b})")

    def __add__(self, o):
        return self._bin("+", o)

    def __radd__(self, o):
        return self if isinstance(o, int) and o == 0 else self._bin("+", o, True)  # sum() starts at 0

    def __sub__(self, o):
        return self._bin("-", o)

    def __rsub__(self, o):
        return self._bin("-", o, True)

    def __mul__(self, o):
        return self._bin("*", o)

    def __rmul__(self, o):
        return self._bin("*", o, True)

    def __truediv__(self, o):
        return self._bin("/", o)

    def __rtruediv__(self, o):
        return self._bin("/", o, True)

    def __pow__(self, o):
        return self._bin("**", o)

    def __matmul__(self, o):
        return self._bin("@", o)

    def __rmatmul__(self, o):
        return self._bin("@", o, True)

    def __neg__(self):
        return Code(f"(-{self.text})")

    @property
    def T(self):
        return Code(f"{self.text}.T")


class _Module:
    """Stands for the array module: ``CODE.exp(z)`` is the code ``numpy.exp(z)``; with ``bind``
    (code → a name it assigned), each call is bound once, so softmax computes its exp once."""

    def __init__(self, bind=None):
        self._bind = bind

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args, **kwargs):
            parts = [_text(a) for a in args] + [f"{k}={_text(v)}" for k, v in kwargs.items()]
            code = f"numpy.{name}({', '.join(parts)})"
            return Code(self._bind(code) if self._bind else code)

        return call


CODE = _Module()


def emit(op, printed: list, bind=None) -> str:
    """The code of ``op`` applied to operands already printed as ``printed``; ``bind`` as in :class:`_Module`."""
    return _text(op.numpy(_Module(bind) if bind else CODE, [Code(p) for p in printed]))
