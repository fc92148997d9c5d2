"""A built-in derivation's forward pass and recorded reverse sweep as NumPy-style code."""
from __future__ import annotations

from .printing import code, code_name

__all__ = ["pseudocode"]


def pseudocode(d) -> list:
    """The forward pass and the recorded reverse sweep as NumPy-style code."""
    nodes = d.graph.nodes
    leaves = [n.name for n in nodes.values() if n.kind in ("input", "target", "param")]
    wrt = ", ".join(d.spec.wrt)
    L = [f"def gradient_{'_'.join(d.spec.wrt)}({', '.join(leaves)}):",
         "    # forward pass (one data point; a batch of column vectors works the same)"]
    for n in nodes.values():
        if n.kind == "affine":
            rhs = " + ".join(f"{a} @ {v}" for a, v in n.terms) + (f" + {n.bias}" if n.bias else "")
        elif n.kind == "activation":
            rhs = f"{n.activation.name}({n.arg})"
        elif n.kind == "loss":
            rhs = f"{n.loss.name if not n.loss.generic else 'loss'}({n.arg}, {n.target})"
        else:
            continue
        L.append(f"    {n.name} = {rhs}")
    L.append("    # backward sensitivities (reverse sweep)")
    for st in d.sweep.steps:
        name = st.lhs.name
        if name in d.sweep.definitions and name.startswith("bar_"):
            continue  # intermediate adjoints are inlined where they are used
        value = st.value if name in d.sweep.definitions else st.rhs
        L.append(f"    {code_name(name)} = {code(value)}")
    grads = [d.sweep.gradients[p] for p in d.spec.wrt]
    outs = ", ".join(code_name((g.symbol if len(g.contributions) > 1 else g.contributions[0].symbol).name)
                     for g in grads)
    L.append(f"    return {outs}    # ∂L/∂{wrt}".replace("∂L/∂", "dL/d"))
    return L
