"""The gradcheck report: structured fields for programs, ``str()`` for people."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .diagnosis import CANNOT, PASSING

__all__ = ["Entry", "GradcheckReport", "TensorReport"]

DESCRIBE = {
    "ok": "agrees with every oracle",
    "kink": "agrees; finite differences straddle a kink at some points (one-sided slopes differ there)",
    "derived_wrong": "WRONG: the derived gradient is the odd one out",
    "fd_odd_one_out": "DISAGREES: derived and JAX agree, finite differences do not (noisy f, or a bug "
                      "shared by derived and JAX such as a custom derivative rule)",
    "jax_odd_one_out": "DISAGREES: derived and finite differences agree, JAX does not (f differs under tracing?)",
    "no_consensus": "DISAGREES: derived, JAX and finite differences all differ",
    "cannot_judge": "CANNOT JUDGE: no oracle disagrees, but some entries had none able to judge them",
}


@dataclass
class Entry:
    """One compared value: an entry (``index``) or a directional probe (``probe``)."""

    index: tuple | None
    derived: float
    jax: float | None = None
    fd: float | None = None
    fd_error: float | None = None
    allowed: float | None = None
    kink: bool = False
    probe: int | None = None

    def label(self, name: str) -> str:
        if self.probe is not None:
            return f"{name}·v{self.probe}"
        return f"{name}[{', '.join(map(str, self.index))}]" if self.index else name


@dataclass
class TensorReport:
    name: str
    shape: tuple
    dtype: str
    mode: str  # "full" (every coordinate) or "directional"
    passed: bool
    diagnosis: str
    reference: str  # what max_abs_error / max_rel_error are measured against
    max_abs_error: float
    max_rel_error: float
    rel_error_jax: float | None
    rel_error_fd: float | None
    fd_error_estimate: float
    rtol: float
    worst: list = field(default_factory=list)
    kinks: list = field(default_factory=list)
    hints: list = field(default_factory=list)
    evaluations: int = 0
    detection: dict | None = None
    taylor: dict | None = None
    fd_values: object = None  # full mode: the finite-difference gradient (array), and its error estimates
    fd_errors: object = None
    unjudged: list = field(default_factory=list)  # (entry label, why no oracle could judge it)

    @property
    def verdict(self) -> str:
        """``"passed"``, ``"failed"`` or ``"cannot_judge"``."""
        return "passed" if self.passed else "cannot_judge" if self.diagnosis == CANNOT else "failed"

    def _unjudged_lines(self) -> list[str]:
        reasons: dict = {}
        for label, why in self.unjudged:
            reasons.setdefault(why, []).append(label)
        out = []
        for why, labels in reasons.items():
            more = f" and {len(labels) - 6} more" if len(labels) > 6 else ""
            out.append(f"    cannot judge {', '.join(labels[:6])}{more}: {why}")
        return out

    def _repr_markdown_(self):  # Jupyter
        from .notebook import tensor_markdown

        return tensor_markdown(self)

    def lines(self) -> list[str]:
        mark = {"passed": "✓", "failed": "✗", "cannot_judge": "?"}[self.verdict]
        shape = "×".join(map(str, self.shape)) or "scalar"
        out = [f"{mark} {self.name} ({shape}, {self.dtype}, {self.mode}): {DESCRIBE[self.diagnosis]}",
               (f"    max error vs {self.reference}: abs {self.max_abs_error:.3g}, rel {self.max_rel_error:.3g}"
               f"  (finite-difference error estimate {self.fd_error_estimate:.2g}, rtol {self.rtol:.2g})")]
        for h in self.hints:
            out.append(f"    hint: {h}")
        if self.worst and not self.passed:
            out.append("    worst:")
            for e in self.worst:
                parts = [f"derived {e.derived: .10g}"]
                if e.jax is not None:
                    parts.append(f"JAX {e.jax: .10g}")
                if e.fd is not None:
                    parts.append(f"FD {e.fd: .10g} ± {e.fd_error:.2g}")
                out.append(f"      {e.label(self.name):<14} " + "  ".join(parts) + ("  (kink)" if e.kink else ""))
        out += self._unjudged_lines()
        if self.kinks and not self.unjudged:
            shown = ", ".join(e if isinstance(e, str) else f"{self.name}[{', '.join(map(str, e))}]"
                              for e in self.kinks[:6])
            more = f" and {len(self.kinks) - 6} more" if len(self.kinks) > 6 else ""
            out.append(f"    kink crossed at {shown}{more}: finite differences cannot judge there; JAX agrees")
        if self.detection:
            d = self.detection
            out.append(f"    directional: {d['probes']} Gaussian probes + {d['coordinates']} sampled coordinates; "
                       f"a {d['relative_error']:.0%} error in one typical entry is caught with probability "
                       f"{d['probability']:.4f}" + (" (JAX compared every entry)" if d.get("jax_all") else ""))
        if self.taylor:
            t = self.taylor
            order = "n/a (residual at rounding level)" if t["order"] is None else f"{t['order']:.2f}"
            out.append(f"    Taylor remainder: fitted order {order} (2 for a correct gradient, 1 for a wrong one)")
        return out


@dataclass
class GradcheckReport:
    """Result of :func:`checks.gradcheck`: ``passed``, per tensor details, and notes."""

    passed: bool
    tensors: dict
    hints: list
    evaluations: int
    seconds: float
    fd_method: str
    jax: str  # "used", or why not
    notes: list = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        """The tensors whose gradient is wrong (not those that could not be judged)."""
        return [n for n, t in self.tensors.items() if t.verdict == "failed"]

    @property
    def unjudged(self) -> list[str]:
        return [n for n, t in self.tensors.items() if t.verdict == "cannot_judge"]

    @property
    def verdict(self) -> str:
        """``"passed"``, ``"failed"`` (some tensor is wrong) or ``"cannot_judge"``."""
        return "failed" if self.failed else "cannot_judge" if self.unjudged else "passed"

    def __str__(self) -> str:
        head = {"passed": "gradcheck passed", "failed": f"gradcheck FAILED for {', '.join(self.failed)}",
                "cannot_judge": f"gradcheck CANNOT JUDGE {', '.join(self.unjudged)}"}[self.verdict]
        out = [(f"{head}  ({self.evaluations} evaluations of f, {self.seconds:.3g} s; "
               f"finite differences: {self.fd_method}; JAX: {self.jax})")]
        for t in self.tensors.values():
            out += t.lines()
        out += [f"hint: {h}" for h in self.hints]
        out += [f"note: {n}" for n in self.notes]
        return "\n".join(out)

    def _repr_markdown_(self):  # Jupyter
        from .notebook import gradcheck_markdown

        return gradcheck_markdown(self)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["verdict"] = self.verdict
        for name, t in d["tensors"].items():
            t["verdict"] = self.tensors[name].verdict
            for k in ("fd_values", "fd_errors"):
                t[k] = None if t[k] is None else t[k].tolist()
            t["hints"] = [h["text"] if isinstance(h, dict) else str(h) for h in t["hints"]]
        d["hints"] = [h["text"] if isinstance(h, dict) else str(h) for h in d["hints"]]
        return d

    @staticmethod
    def passing(diagnosis: str) -> bool:
        return diagnosis in PASSING
