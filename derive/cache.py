"""On-disk cache of proofs, so that ``python -m derive NAME`` does not redo SymPy work.

A proof depends only on the code that derives and proves (this package and
SymPy) and on the derivation's options, parameters and proof sizes. The cache
key is a SHA-256 over exactly those: the SymPy version, the bytes of every
source file of ``derive`` (which change with any release of this package), and the derivation's name,
options, ``wrt``, proof sizes and forward-mode parameter. Any change to the code
gives a new key, so a stale proof is never read back.

Entries are small JSON files (never pickles) in ``$GRADPROOF_CACHE`` if set, else
``$XDG_CACHE_HOME/gradproof``, else ``~/.cache/gradproof``. ``GRADPROOF_CACHE=off``
disables the cache. An unreadable, unwritable or corrupt cache is ignored: the
proof is then computed as if there were no cache. A proof read back is marked
``cached`` and every renderer says so.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from .proof import Check, ProofResult, prove

__all__ = ["cache_dir", "code_fingerprint", "proof_key", "load_proof", "store_proof", "cached_proof"]

_OFF = {"0", "off", "no", "false", "none"}
_KINDS = {"occurrence", "path", "total", "forward"}


def cache_dir() -> Path | None:
    """Where proofs are kept, or None when the cache is switched off."""
    env = os.environ.get("GRADPROOF_CACHE", "").strip()
    if env.lower() in _OFF:
        return None
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gradproof"


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 of the SymPy version and every ``derive`` source file."""
    import sympy

    # the source bytes stand for the package version (importlib.metadata alone costs ~60 ms)
    h = hashlib.sha256(f"gradproof proof cache 1; sympy {sympy.__version__}\n".encode())
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def proof_key(d) -> str:
    """The cache key of derivation ``d``'s proof."""
    what = {"code": code_fingerprint(), "name": d.name, "options": d.options, "wrt": list(d.spec.wrt),
            "sizes": d.spec.proof_sizes, "forward": d.spec.forward_mode}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()


def _path(d) -> Path | None:
    base = cache_dir()
    return None if base is None else base / f"proof-{d.name}-{proof_key(d)[:32]}.json"


def _decode(raw) -> ProofResult:
    checks = []
    for c in raw["checks"]:
        if c["what"] not in _KINDS or not isinstance(c["holds"], bool) or not isinstance(c["components"], int):
            raise ValueError("malformed check")
        checks.append(Check(str(c["what"]), str(c["param"]), str(c["label"]), c["holds"], c["components"]))
    sizes = {str(k): int(v) for k, v in raw["sizes"].items()}
    return ProofResult(sizes, checks, [str(a) for a in raw["assumptions"]], cached=True)


def load_proof(d) -> ProofResult | None:
    """The cached proof of ``d``, marked ``cached``; None on a miss or any trouble."""
    path = _path(d)
    if path is None:
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("key") != proof_key(d):
            return None
        return _decode(raw["proof"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def store_proof(d, result: ProofResult) -> bool:
    """Write ``result`` for ``d`` (atomically); False when the cache is off or unwritable."""
    path = _path(d)
    if path is None:
        return False
    entry = {"key": proof_key(d), "name": d.name, "options": d.options,
             "proof": {"sizes": result.sizes, "assumptions": result.assumptions,
                       "checks": [{"what": c.what, "param": c.param, "label": c.label, "holds": bool(c.holds),
                                   "components": int(c.components)} for c in result.checks]}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".proof-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(entry, fh, ensure_ascii=False, default=str)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        return False
    return True


def cached_proof(d, refresh: bool = False) -> ProofResult:
    """``d``'s proof at its default sizes: read from the cache, or proved now
    and stored (``refresh=True`` always proves and overwrites)."""
    if not refresh:
        hit = load_proof(d)
        if hit is not None:
            return hit
    result = prove(d.sweep, d.spec.proof_sizes)
    store_proof(d, result)
    return result
