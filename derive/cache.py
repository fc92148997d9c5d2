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

A model file's proof is keyed by the same fingerprint, the SHA-256 of the file's
text (not its path), ``wrt`` and the proof sizes.

The cache can only save time, never claim a proof. An entry holds nothing but
the verdict and false-pass bound of each check (and the proof's notes on how its
brute force was computed), signed (HMAC-SHA256) with a
per-user key kept beside the entries (``key``, mode 0600); the checks' labels,
sizes and assumptions come from the derivation itself. An entry is read only
when the directory, the key and the entry belong to this user and are writable
by no one else, the entry is a regular file (never a symlink) under 256 kB, its
signature matches, and it lists exactly the checks this derivation makes.
Anything else is ignored, and the proof is computed.
"""
from __future__ import annotations

import errno
import hashlib
import hmac
import json
import os
import secrets
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sympy as sp

from .files import Refused, read_regular
from .proof import Check, ProofResult, proof_assumptions, proof_plan, prove

__all__ = ["cache_dir", "code_fingerprint", "proof_key", "load_proof", "store_proof", "cached_proof"]

_OFF = {"0", "off", "no", "false", "none"}


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
    return hashlib.sha256(json.dumps(_subject(d).identity, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class _Subject:
    """What the cache needs of a derivation: what its proof depends on, the checks it makes
    (everything but the verdicts) and how to prove it."""

    identity: dict
    stem: str  # the entry's file name: proof-STEM-KEY.json
    sizes: dict
    skeleton: Callable  # () -> (plan [(what, param, label, components)], assumptions, omitted)
    prove: Callable  # () -> ProofResult


def _subject(d) -> _Subject:
    if getattr(d, "is_model", False):
        return _model_subject(d)
    what = {"code": code_fingerprint(), "name": d.name, "options": d.options, "wrt": list(d.spec.wrt),
            "sizes": d.spec.proof_sizes, "forward": d.spec.forward_mode}
    return _Subject(what, d.name, dict(d.spec.proof_sizes), lambda: _skeleton(d),
                    lambda: prove(d.sweep, d.spec.proof_sizes))


def _model_subject(d) -> _Subject:
    """A model file's proof depends on its text (not on where it is), ``wrt`` and the sizes."""
    from .model_proof import model_proof_plan, prove_model

    what = {"code": code_fingerprint(), "model": hashlib.sha256(d.spec.text.encode()).hexdigest(),
            "wrt": list(d.wrt), "sizes": d.sizes}
    plan = lru_cache(maxsize=1)(lambda: model_proof_plan(d.sweep, d.sizes))

    def skeleton():
        p = plan()
        return [(c.what, c.param, c.label, c.components) for c in p.checks], p.assumptions, p.omitted

    return _Subject(what, "model", dict(d.sizes), skeleton, lambda: prove_model(d.sweep, d.sizes, plan()))


ENTRY_LIMIT = 256 * 1024  # bytes: a proof entry is a few kB; anything larger is not one of ours
KEY_FILE = "key"  # the per-user secret that signs every entry (HMAC-SHA256)


def _owned(st, kind) -> str | None:
    """Why a file with this ``lstat`` may not be trusted, or None."""
    if not kind(st.st_mode):
        return "not a regular file" if kind is stat.S_ISREG else "not a directory"
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return f"owned by uid {st.st_uid}, not by this user"
    if st.st_mode & 0o022:
        return f"writable by others (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def _directory(base: Path, reasons) -> bool:
    try:
        why = _owned(os.lstat(base), stat.S_ISDIR)
    except OSError as e:
        why = e.strerror
    if why:
        _say(reasons, f"cache directory {base}: {why}")
    return why is None


def _read_trusted(path: Path, limit: int, reasons, private: bool = False) -> bytes | None:
    """The bytes of ``path`` if it is a regular file of this user, not writable by others (with
    ``private``, not readable by them either), at most ``limit`` bytes (checked on the open file,
    never following a symlink)."""
    try:
        data, st = read_regular(path, limit, follow=False)
    except Refused as e:
        _say(reasons, f"{path}: {e}")
        return None
    except OSError as e:
        if e.errno != errno.ENOENT:
            _say(reasons, f"{path}: {e.strerror}")
        return None
    why = _owned(st, stat.S_ISREG) or (f"readable by others (mode {stat.S_IMODE(st.st_mode):o}, not 600)"
                                       if private and st.st_mode & 0o077 else None)
    if why:
        _say(reasons, f"{path}: {why}")
        return None
    return data


def _say(reasons, text):
    if reasons is not None:
        reasons.append(text)


def _key(base: Path, create: bool, reasons=None) -> bytes | None:
    """This user's signing key in the cache directory (made on first store)."""
    path = base / KEY_FILE
    key = _read_trusted(path, 64, reasons, private=True)
    if key is None and create and not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            return None
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
        key = _read_trusted(path, 64, reasons, private=True)
    return key if key is not None and len(key) == 32 else None


def _mac(key: bytes, body: dict) -> str:
    return hmac.new(key, json.dumps(body, sort_keys=True, ensure_ascii=True).encode(), hashlib.sha256).hexdigest()


def _path(d) -> Path | None:
    base = cache_dir()
    return None if base is None else base / f"proof-{_subject(d).stem}-{proof_key(d)[:32]}.json"


def _skeleton(d) -> tuple[list, list]:
    """The checks the proof of ``d`` makes — (what, param, label, components) in order — and
    its assumptions, from the derivation itself: a cached entry supplies only the verdicts."""
    graph, dims = d.sweep.graph, {d.sweep.graph.dim(k): v for k, v in d.spec.proof_sizes.items()}

    def size(p):
        rows, cols = (int(sp.sympify(n).subs(dims)) for n in graph.nodes[p].shape)
        return rows * cols

    plan = [(what, p, label, size(p)) for what, p, label, _ in proof_plan(d.sweep)]
    return plan, proof_assumptions(d.sweep), []


MAX_NOTES, NOTE_LIMIT = 8, 400  # how the brute force was computed: a few sentences


def _decode(raw, d) -> ProofResult:
    subject = _subject(d)
    plan, assumptions, omitted = subject.skeleton()
    verdicts = raw["checks"]
    if not isinstance(verdicts, list) or len(verdicts) != len(plan):
        raise ValueError("not the checks this derivation makes")
    checks = []
    for (what, param, label, components), v in zip(plan, verdicts, strict=True):
        bound = v["false_pass"]
        if [v["what"], v["param"], v["label"]] != [what, param, label] or not isinstance(v["holds"], bool) \
                or not isinstance(bound, float) or not 0.0 <= bound <= 1.0:
            raise ValueError("not the checks this derivation makes")
        checks.append(Check(what, param, label, v["holds"], components, bound))
    notes = raw["notes"]
    if not isinstance(notes, list) or len(notes) > MAX_NOTES or \
            not all(isinstance(n, str) and len(n) <= NOTE_LIMIT for n in notes):
        raise ValueError("notes that are not a few sentences")
    return ProofResult(subject.sizes, checks, list(assumptions), cached=True, omitted=list(omitted), notes=notes)


def load_proof(d, reasons: list | None = None) -> ProofResult | None:
    """The cached proof of ``d``, marked ``cached``; None on a miss or any trouble.

    Trusted only when the directory, the key and the entry belong to this user and
    are writable by no one else, the entry is a regular file under the size cap,
    signed with this user's key, for this key, and lists exactly the checks this
    derivation makes. ``reasons`` collects why an entry was ignored.
    """
    path = _path(d)
    if path is None or not path.parent.exists() or not _directory(path.parent, reasons):
        return None
    data = _read_trusted(path, ENTRY_LIMIT, reasons)
    key = _key(path.parent, create=False, reasons=reasons) if data is not None else None
    if data is None or key is None:
        if data is not None:
            _say(reasons, f"{path}: no signing key of this user in {path.parent}")
        return None
    try:
        raw = json.loads(data.decode("utf-8"))
        body = {k: raw[k] for k in ("key", "checks", "notes")}
        if not hmac.compare_digest(str(raw["mac"]), _mac(key, body)):
            raise ValueError("the signature does not match this user's key")
        if raw["key"] != proof_key(d):
            raise ValueError("written for other code or options")
        return _decode(raw, d)
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as e:
        _say(reasons, f"{path}: ignored ({e})")
        return None


def store_proof(d, result: ProofResult) -> bool:
    """Write ``result`` for ``d`` (atomically, signed); False when the cache is off or unwritable."""
    path = _path(d)
    if path is None:
        return False
    body = {"key": proof_key(d),
            "checks": [{"what": c.what, "param": c.param, "label": c.label, "holds": bool(c.holds),
                        "false_pass": float(c.false_pass)} for c in result.checks],
            "notes": list(result.notes)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = _key(path.parent, create=True) if _directory(path.parent, None) else None
        if key is None:
            return False
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".proof-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({**body, "name": d.name, "mac": _mac(key, body)}, fh, ensure_ascii=True)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        return False
    return True


def cached_proof(d, refresh: bool = False, reasons: list | None = None) -> ProofResult:
    """``d``'s proof at its default sizes: read from the cache, or proved now
    and stored (``refresh=True`` always proves and overwrites)."""
    if not refresh:
        hit = load_proof(d, reasons)
        if hit is not None:
            return hit
    result = _subject(d).prove()
    store_proof(d, result)
    return result
