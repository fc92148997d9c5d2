"""Parameter files: read, validate against the model's declared shapes, or draw at random.

Every problem is reported in one line naming the key, what was received and
what was expected, as a :class:`derive.UsageError`.
"""
from __future__ import annotations

import json
import math

import numpy as np
import sympy as sp

from derive.errors import UsageError
from derive.files import Refused, read_regular

__all__ = ["load_params", "read_params", "validate_params", "random_params", "leaves", "unread_targets"]


def leaves(graph):
    """The nodes a parameter file must give: parameters first (their shapes
    fix the sizes), then inputs and targets."""
    order = {"param": 0, "input": 1, "target": 2}
    return sorted((n for n in graph.nodes.values() if n.kind in order), key=lambda n: order[n.kind])


def unread_targets(graph) -> set:
    """Targets no loss reads (a typed loss of the outputs alone): a parameter file may leave them out."""
    losses = list(graph.losses())
    return {n.name for n in graph.nodes.values() if n.kind == "target"
            and all(not node.loss.reads_target for node in losses if node.target == n.name)}


def _describe(shape):
    return "×".join(str(s) for s in shape) if shape else "a number"


MAX_DEPTH = 3


def _leaves_are_numbers(value, depth=0):
    """Only ints and floats (not bools, strings or null) at depth ≤ 2."""
    if isinstance(value, list):
        return depth < MAX_DEPTH - 1 and all(_leaves_are_numbers(v, depth + 1) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _array(key, value):
    def bad(why):
        return UsageError(f"--params: key {key!r} {why}; expected a nested list of finite numbers")

    shown = json.dumps(value)[:60]
    if not _leaves_are_numbers(value):
        raise bad(f"has entries that are not numbers, or is nested too deeply (got {shown})")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise bad(f"is not a rectangular list of numbers (got {shown})") from None
    except OverflowError:
        raise bad("contains a number too large for float64") from None
    if not np.all(np.isfinite(arr)):
        raise bad("contains NaN or Inf")
    return arr


def validate_params(graph, raw: dict) -> tuple[dict, dict]:
    """Check ``raw`` (parsed JSON) against the graph; returns (arrays, sizes).

    Sizes are bound from the first key that mentions each dimension.
    """
    want = _wanted_leaves(graph, raw)
    bound, origin, values = {}, {}, {}
    for n in want:
        arr = _leaf_array(n, raw[n.name])
        _bind_sizes(n, arr, bound, origin)
        values[n.name] = arr
    _fill_unread_targets(graph, values, bound)
    return values, bound


def _require_object(graph, raw) -> None:
    """Refuse a parameter file whose top level is not a JSON object."""
    if not isinstance(raw, dict):
        raise UsageError(f"--params: expected a JSON object with keys "
                         f"{', '.join(n.name for n in leaves(graph))}; got {type(raw).__name__}")


def _wanted_leaves(graph, raw) -> list:
    """The leaves ``raw`` must give (all but unread targets it leaves out); refuses missing and unknown keys."""
    _require_object(graph, raw)
    optional = unread_targets(graph)
    want = [n for n in leaves(graph) if n.name in raw or n.name not in optional]
    missing = [n.name for n in want if n.name not in raw]
    if missing:
        raise UsageError(f"--params: missing key {missing[0]!r}; required keys: "
                         f"{', '.join(n.name for n in want)}")
    extra = sorted(set(raw) - {n.name for n in leaves(graph)})
    if extra:
        raise UsageError(f"--params: unknown key {extra[0]!r}; expected keys: {', '.join(n.name for n in want)}")
    return want


def _is_vector(n) -> bool:
    """Whether leaf ``n`` is declared a column vector (given as a flat list)."""
    return n.shape[1] == 1


def _dims(n) -> tuple:
    """The declared dimensions of leaf ``n`` as given in a file: one for a vector, two for a matrix."""
    return n.shape if not _is_vector(n) else n.shape[:1]


def _leaf_array(n, value) -> np.ndarray:
    """The array of leaf ``n`` from its JSON ``value``, with as many axes as its declaration."""
    arr = _unabbreviated(n, _array(n.name, value))
    is_vec = _is_vector(n)
    if (is_vec and arr.ndim != 1) or (not is_vec and arr.ndim != 2) or arr.size == 0:
        expect = "a vector (list of numbers)" if is_vec else "a matrix (list of rows)"
        raise UsageError(f"--params: key {n.name!r} has shape {_describe(arr.shape)} but must be {expect} "
                         f"of shape {_sym(n.shape)}")
    return arr


def _unabbreviated(n, arr) -> np.ndarray:
    """``arr`` with the axes a short spelling of leaf ``n`` omits: a length-1 vector or one-row matrix unwrapped."""
    is_vec = _is_vector(n)
    if is_vec and n.shape[0] == 1 and arr.ndim == 0:
        arr = arr.reshape(1)  # a length-1 vector may be written as a number
    if not is_vec and n.shape[0] == 1 and arr.ndim == 1:
        arr = arr.reshape(1, -1)  # a one-row matrix may be written as a flat list
    return arr


def _bind_sizes(n, arr, bound: dict, origin: dict) -> None:
    """Bind each dimension of leaf ``n`` to its size in ``arr`` (first key wins); refuses a disagreeing size."""
    got = arr.shape if not _is_vector(n) else (arr.shape[0],)
    dims = _dims(n)
    for size, dim in zip(got, dims, strict=True):
        key = str(dim)
        if key in bound and bound[key] != size:
            raise UsageError(
                f"--params: key {n.name!r} has shape {_describe(got)} but expected {_sym(n.shape)} = "
                f"{_describe(tuple(bound.get(str(d), '?') for d in dims))} "
                f"({key} = {bound[key]} from {origin[key]!r})")
        bound.setdefault(key, size)
        origin.setdefault(key, n.name)


def _fill_unread_targets(graph, values: dict, bound: dict) -> None:
    """Zeros for each target no loss reads and the file left out, so the forward functions can run."""
    for n in leaves(graph):
        if n.name not in values:
            values[n.name] = np.zeros(tuple(bound.get(str(d), 1) for d in _dims(n)))


def _sym(shape):
    r, c = shape
    return f"{r}" if c == 1 else f"{r}×{c}"


def load_params(graph, path) -> tuple[dict, dict]:
    """Read and validate a JSON parameter file."""
    return validate_params(graph, read_params(path))


MAX_BYTES = 1 << 20  # a parameter file larger than 1 MiB is not one a gradient check can use
MAX_ENTRIES = 4096  # numbers in one file: --check compares every entry, each costing evaluations of the model
MAX_DIGITS = 30  # digits of an integer in the file


def _read_bounded(path) -> str:
    """The text of a regular file of at most MAX_BYTES (a FIFO or a device is refused, never read)."""
    try:
        data, _ = read_regular(path, MAX_BYTES)
    except Refused as e:
        if e.size is None:
            raise UsageError(f"--params: {path!r} is {e}; give a JSON file") from None
        raise UsageError(f"--params: {path!r} is {e.size} bytes; at most {MAX_BYTES} "
                         f"(and {MAX_ENTRIES} numbers) are read") from None
    except OSError as e:
        raise UsageError(f"--params: cannot read {path!r}: {e.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"--params: {path!r} is not UTF-8 text; save it as UTF-8 JSON") from None


def _object(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise UsageError(f"--params: key {key!r} is given twice; give each key once")
        seen[key] = value
    return seen


def _integer(text):
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise UsageError(f"--params: the integer {text[:20]}… has {len(text.lstrip('-'))} digits; "
                         f"at most {MAX_DIGITS}")
    return int(text)


def _count(value) -> int:
    return sum(_count(v) for v in value) if isinstance(value, list) else 1


def read_params(path):
    """Parse a JSON parameter file (not yet checked against a model): a regular file of at
    most 1 MiB and 4096 numbers, each key once, integers of at most 30 digits."""
    text = _read_bounded(path)
    try:
        raw = json.loads(text, parse_constant=lambda c: math.nan, object_pairs_hook=_object, parse_int=_integer)
    except json.JSONDecodeError as e:
        raise UsageError(f"--params: {path!r} is not valid JSON ({e.msg} at line {e.lineno} "
                         f"column {e.colno})") from None
    except RecursionError:
        raise UsageError(f"--params: {path!r} is nested too deeply; vectors are lists, matrices lists "
                         "of rows") from None
    total = sum(_count(v) for v in raw.values()) if isinstance(raw, dict) else 0
    if total > MAX_ENTRIES:
        raise UsageError(f"--params: {path!r} holds {total} numbers; at most {MAX_ENTRIES}")
    return raw


def random_params(graph, sizes: dict, loss_name: str, rng: np.random.Generator) -> dict:
    """Seeded values at ``sizes``; targets suited to the loss (probabilities
    for bce, a probability vector for ce)."""
    dims = {graph.dim(k): v for k, v in sizes.items()}

    def shape(n):  # a declared column vector is 1-D; a matrix stays 2-D even with one column
        r, c = (int(sp.sympify(s).subs(dims)) for s in n.shape)
        return (r,) if n.shape[1] == 1 else (r, c)

    out = {}
    for n in leaves(graph):
        s = shape(n)
        if n.kind == "target":
            if loss_name == "bce":
                out[n.name] = rng.uniform(0.05, 0.95, size=s)
            elif loss_name == "ce":
                out[n.name] = rng.dirichlet(np.ones(s[0]))
            else:
                out[n.name] = rng.normal(size=s)
        elif n.kind == "param" and len(s) == 2:
            out[n.name] = rng.normal(size=s) / np.sqrt(s[1])
        else:
            out[n.name] = rng.normal(size=s)
    return out
