"""The command line: parse, call, print. All output is built elsewhere."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import signal
import sys
import threading
import unicodedata

from . import progress
from .budget import DEFAULT, OutOfTime, budget
from .errors import EXIT, CannotJudge, UsageError
from .files import write_atomic
from .pdf import compile_pdf, standalone

__all__ = ["build_parser", "main", "standalone"]

EPILOG = """\
examples:
  python -m derive list
  python -m derive shared_bias
  python -m derive shared_bias --activation sigmoid --output-activation sigmoid --loss bce
  python -m derive shared_bias --latex -o shared_bias.tex
  python -m derive shared_bias --check --seed 1
  python -m derive shared_bias --check --params params.json --activation tanh --output-activation softmax --loss ce
  python -m derive input_gradient --layers 1 --activation sigmoid
  python -m derive sigmoid_mlp --wrt b1,W1,x --check
  python -m derive beta_binomial --alpha 2 --beta 2 --N 10 --y 7 --check
  python -m derive normal_normal --tau2 5 --compare-tau2 0.1 --plot predictives.png
  python -m derive rnn_bptt --loss "(yhat_1 - y_1)**2 - y_2*log(yhat_2)" --check --params p.json
  python -m derive trace "ln(sin(x1)) + x1*exp(x2)" --at x1=pi/6 x2=1 --wrt x1
  python -m derive report -o report.pdf

Typed expressions are parsed safely (never evaluated as Python): numbers, pi, E,
+ - * / ** and exp, log, ln, sqrt, sin, cos, tan, tanh, sigmoid, softplus, abs, max, min.
A loss uses yhat_1 … yhat_k and y_1 … y_k; an activation uses z.

--params FILE.json: the derivation's inputs, targets and parameters as nested lists of
finite numbers (vectors as lists, matrices as lists of rows); sizes come from the file.
Each derivation's keys: python -m derive NAME --help.

exit status: 0 ok, 1 a proof or check failed, 2 bad usage or bad input, 3 an internal error,
4 --check could not judge some entries (nothing failed), 5 a stage ran past --proof-timeout,
130 interrupted.
"""


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"invalid time budget {text!r}: seconds, more than 0 and at most 86400")
    return value


def _add_quiet(p):
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress line on stderr (shown only on a terminal, after 2 s)")


def _add_budget(p):
    p.add_argument("--proof-timeout", dest="timeout", type=_seconds, default=DEFAULT, metavar="SECONDS",
                   help=f"time budget of each stage (deriving, proving, checking, writing; default {DEFAULT:g} s): "
                        "past it, one line and exit 5")


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: a whole number ≥ 0") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid seed {value}: a whole number ≥ 0")
    return value


PROG = "python -m derive"  # what the user typed to run the CLI; main() sets it (gradproof, python -m gradproof)
USAGE = "{prog} {{NAME | list | trace | report | MODEL.gp}} [options]"


def program_name(argv0: str | None) -> str:
    """``gradproof`` for the console script, ``python -m PACKAGE`` for ``python -m``."""
    from pathlib import Path

    if not argv0:
        return "python -m derive"
    path = Path(argv0)
    if path.name == "__main__.py":
        return f"python -m {path.parent.name}"
    return path.name if path.name not in ("", "-c") else "python -m derive"


def _examples(text: str) -> str:
    return text.replace("python -m derive", PROG)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, via UsageError
        raise UsageError(f"{message} (see: {self.prog} --help)")


class _Version(argparse.Action):
    """--version, which reads the distribution's metadata (~40 ms) only when asked."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser._print_message(f"gradproof {version()}\n", sys.stdout)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, usage=USAGE.format(prog=PROG),
                description="Derive, prove and export neural-network gradients.",
                epilog=_examples(EPILOG), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="a derivation name, 'list', 'trace' (--help), 'report' (--help) or a model file")
    p.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    p.add_argument("--activation", help=_OPTION_HELP["activation"])
    p.add_argument("--output-activation", dest="output_activation", help=_OPTION_HELP["output_activation"])
    p.add_argument("--loss", help=_OPTION_HELP["loss"])
    p.add_argument("--layers", type=int, help="input_gradient: number of hidden layers, 1 to 5 (default 2)")
    p.add_argument("--steps", type=int, help="rnn_bptt: time steps T, 1 to 30, with the proof 1 to 10 (default 3)")
    p.add_argument("--wrt", help="comma-separated parameters or inputs to differentiate (default: the problem's)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="LaTeX (a fragment; -o FILE.tex writes a document)")
    fmt.add_argument("--markdown", action="store_true", help="Markdown with $…$ math")
    fmt.add_argument("--json", action="store_true", help="JSON (schema in the README)")
    p.add_argument("-o", "--output", help="write to FILE instead of stdout")
    p.add_argument("--no-proof", action="store_true", help="skip the symbolic proof")
    p.add_argument("--no-cache", action="store_true",
                   help="prove again instead of reading the proof cached by an earlier run (and refresh it)")
    p.add_argument("--verbose", action="store_true", help="say on stderr why a cached proof was not used")
    _add_quiet(p)
    _add_budget(p)
    p.add_argument("--check", action="store_true",
                   help="check numerically against JAX and finite differences (exit 1 on disagreement, "
                        "4 when some entries cannot be judged)")
    p.add_argument("--seed", type=_seed, default=None, help="seed for random check points (default 0)")
    p.add_argument("--params", help="JSON file of parameter values for --check")
    p.add_argument("--eps", type=float, help="rnn_bptt --check: central-difference step for b "
                   "(default per component ≈ ε^(1/3)·max(1, |bᵢ|))")
    p.add_argument("--lr", type=float, help="rnn_bptt --check: take one gradient-descent step on b")
    _bayes_options(p)
    return p


def _bayes_options(p):
    """Options of the P6 derivations (parsed and validated by derive.bayes)."""
    g = p.add_argument_group("beta_binomial and normal_normal (P6)")
    g.add_argument("--alpha", help="beta_binomial: prior Beta(α, β), α > 0 (default 2)")
    g.add_argument("--beta", help="beta_binomial: prior β > 0 (default 2)")
    g.add_argument("--N", help="beta_binomial: number of trials, a whole number ≥ 1 (default 10)")
    g.add_argument("--y", help="beta_binomial: number of successes, 0 ≤ y ≤ N (default 7)")
    g.add_argument("--data", nargs="+", help="normal_normal: data points, separated by spaces or commas "
                   "(default: P6's 14 points)")
    g.add_argument("--sigma2", help="normal_normal: noise variance σ² > 0 (default 1)")
    g.add_argument("--tau2", help="normal_normal: prior variance τ² > 0 (default 5)")
    g.add_argument("--compare-tau2", dest="compare_tau2",
                   help="normal_normal: a second prior variance for the Bayes factor (default 0.1)")
    g.add_argument("--plot", help="normal_normal: write the 15 sequential predictive panels to FILE.png")


def _options(args):
    return {k: getattr(args, k) for k in ("activation", "output_activation", "loss", "layers", "steps",
                                          "alpha", "beta", "N", "y", "data", "sigma2", "tau2", "compare_tau2")
            if getattr(args, k) is not None}


TRACE_EPILOG = """\
examples:
  python -m derive trace "ln(sin(x1)) + x1*exp(x2)" --at x1=pi/6 x2=1 --wrt x1
  python -m derive trace "x*y + sigmoid(x)" --at x=1/2 y=-1 --mode reverse --json

Each step vᵢ is one elementary operation, in evaluation order; its value is exact
(SymPy) and a float; its tangent ∂vᵢ/∂x is the chain rule written out, then evaluated.
--mode reverse adds the adjoint trace v̄ᵢ = ∂f/∂vᵢ and the whole gradient.
exit status: 0 ok, 1 the trace disagrees with sympy.diff, 2 bad usage or bad input.
"""


def build_trace_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=f"{PROG} trace", description="Evaluation trace of an expression (forward and "
                "reverse mode), every step exact and as a float.", epilog=_examples(TRACE_EPILOG),
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("expression", help="e.g. 'ln(sin(x1)) + x1*exp(x2)'")
    p.add_argument("--at", nargs="+", required=True, metavar="NAME=VALUE",
                   help="the point: every variable, e.g. --at x1=pi/6 x2=1")
    p.add_argument("--wrt", help="the variable of the tangents (default: the first in the expression)")
    p.add_argument("--mode", choices=("forward", "reverse"), default="forward",
                   help="forward: primal and tangent trace; reverse: the adjoint trace as well")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="LaTeX (-o FILE.tex writes a document)")
    fmt.add_argument("--markdown", action="store_true", help="Markdown with $…$ math")
    fmt.add_argument("--json", action="store_true", help="JSON (schema in the README)")
    p.add_argument("-o", "--output", help="write to FILE instead of stdout")
    _add_quiet(p)
    _add_budget(p)
    return p


def _trace(argv) -> tuple[int, str, str | None]:
    from .trace import trace

    args = build_trace_parser().parse_args(argv)
    if args.output is not None and not args.output.strip():
        raise UsageError("-o needs a file name, e.g. -o trace.tex")
    with budget(args.timeout, "tracing and proving the expression", _LONGER):
        t = trace(args.expression, args.at, wrt=args.wrt, reverse=args.mode == "reverse")
        text = _render(args, t.latex, t.markdown, lambda: t.json() + "\n", t.text)
    return (0 if t.proof else 1), text, args.output


_OPTION_HELP = {
    "activation": "hidden activation: g (generic), sigmoid, tanh, relu, softplus, identity, or an expression in z",
    "output_activation": "output activation: g1 (generic), sigmoid, tanh, relu, softplus, identity, softmax, "
                         "or an expression in z",
    "loss": "loss: l (generic ℓ), mse, bce, ce, or an expression in yhat_1…yhat_k and y_1…y_k",
    "layers": "number of hidden layers, 1 to 5",
    "steps": "time steps T, 1 to 30 (with the proof: 1 to 10)",
}


def derivation_help(name) -> str:
    """``python -m derive NAME --help``: the derivation's options, defaults,
    variables for --wrt, and --params keys."""
    from . import derive
    from .registry import get

    entry = get(name)
    d = derive(name)
    helps = {a.dest: a.help for a in build_parser()._actions}
    L = [f"{PROG} {name} [options]", "", entry.description, "", "options (default in brackets):"]
    for key, default in entry.defaults.items():
        flag = "--" + key.replace("_", "-")
        L.append(f"  {flag:<21} {_OPTION_HELP.get(key) or helps.get(key) or key} [{default}]")
    if not hasattr(d, "graph"):  # a worked-steps derivation (P6): no graph, no --wrt or --params
        L += ["  --latex | --markdown | --json, -o FILE (.tex or .pdf writes a document)",
              "  --check [--json]      closed forms against numerical integration and optimisation"]
        if hasattr(d, "plot"):
            L.append(f"  {'--plot FILE.png':<21} {helps.get('plot') or 'the plot'}")
        return "\n".join(L) + "\n"
    choices = [n.name for n in d.graph.nodes.values() if n.kind in ("param", "input")]
    L.append(f"  {'--wrt':<21} comma-separated, from: {', '.join(choices)} [{','.join(d.spec.wrt)}]")
    L += ["  --latex | --markdown | --json, -o FILE (.tex writes a document), --no-proof, --no-cache",
          "  --check [--seed N] [--params FILE.json]   numeric check against JAX and finite differences"]
    L += [f"  {flag:<21} {text}" for flag, text in entry.check_options.items()]
    leaves = ", ".join(n.name for n in d.graph.nodes.values() if n.kind in ("param", "input", "target"))
    L += ["", "--params FILE.json keys (nested lists of finite numbers; sizes come from the file):",
          f"  {entry.params or leaves}",
          "", "examples:", f"  {PROG} {name}", f"  {PROG} {name} --check --seed 1",
          f"  {PROG} {name} --loss '{entry.loss_example}' --check"]
    return "\n".join(L) + "\n"


def build_report_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=f"{PROG} report", description="One LaTeX document with every derivation "
                "(or those named), its proof and its numeric checks.",
                epilog=_examples("examples:\n  python -m derive report -o report.pdf\n"
                                 "  python -m derive report shared_bias trace -o p1_p4.tex --no-check\n"),
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help="sections (default: all, in problem order)")
    p.add_argument("-o", "--output", help="FILE.tex (a document) or FILE.pdf (needs pdflatex); default stdout")
    p.add_argument("--no-check", action="store_true", help="leave out the numeric checks (no JAX)")
    p.add_argument("--seed", type=_seed, default=0, help="seed for the checks' random points (default 0)")
    _add_quiet(p)
    return p


def _report(argv) -> tuple[int, str, str | None]:
    args = build_report_parser().parse_args(argv)
    if args.output is not None and not args.output.strip():
        raise UsageError("-o needs a file name, e.g. -o report.pdf")
    if args.output and not args.output.endswith((".tex", ".pdf")):
        raise UsageError(f"report -o writes a .tex or .pdf file; got {args.output!r}")
    if not args.no_check:
        _need_jax("report runs the numeric checks", "add --no-check")
    report = importlib.import_module("checks.writeup").report  # runs checks: imported only when asked for
    text, passed = report(args.names, seed=args.seed, check=not args.no_check)
    return (0 if passed else 1), text, args.output


_NEGATIVE = re.compile(r"-[\d.][\d.eE+\-, ]*")


def _negative_values(argv) -> list:
    """``--data -1.5,-2`` as ``--data=-1.5,-2``: argparse reads a value starting with '-' as an option
    unless it is one plain number."""
    out = []
    for tok in argv:
        if out and out[-1].startswith("--") and "=" not in out[-1] and _NEGATIVE.fullmatch(tok):
            out[-1] = f"{out[-1]}={tok}"
        elif out and out[-1].startswith("--data") and _NEGATIVE.fullmatch("-" + tok.lstrip("-+")):
            sep = "=" if out[-1] == "--data" else ","  # --data takes several values: 1 -2e3 0.3
            out[-1] = f"{out[-1]}{sep}{tok}"
        else:
            out.append(tok)
    return out


def run(argv) -> tuple[int, str, str | None]:
    """Run the CLI on ``argv``; returns (exit status, text, output path or None)."""
    argv = _negative_values(list(argv))
    if not argv:
        return 0, _short_usage(), None
    if argv and argv[0] == "trace":
        return _trace(argv[1:])
    if argv and argv[0] == "report":
        return _report(argv[1:])
    if argv and is_model_path(argv[0]):
        args = build_parser().parse_args(argv)
        return (*_model(args), args.output)
    from .registry import names

    if argv and argv[0] in names() and any(a in ("-h", "--help") for a in argv[1:]):
        return 0, derivation_help(argv[0]), None
    args = build_parser().parse_args(argv)
    status, text = _dispatch(args)
    return status, text, args.output


def _dispatch(args) -> tuple[int, str]:
    """A built-in derivation: list them, check one numerically, or derive, prove and render one."""
    from . import derive

    if args.name == "list":
        return 0, _listing()
    wrt = [w.strip() for w in args.wrt.split(",") if w.strip()] if args.wrt else None
    _refuse_mixed_flags(args)
    if args.check:
        # numbers live in checks/ and numeric/ (JAX); imported only when asked for
        _need_jax("--check compares with JAX", "run without --check")
        checks_cli = importlib.import_module("checks.cli")
        with budget(args.timeout, f"checking {args.name}", _LONGER):
            return checks_cli.run_check(args.name, _options(args), seed=args.seed or 0, params=args.params,
                                        as_json=args.json, wrt=wrt, eps=args.eps, lr=args.lr)
    _proof_fits(args)
    with budget(args.timeout, f"deriving {args.name}", _SMALLER):
        d = derive(args.name, wrt=wrt, **_options(args))
    if args.plot is not None:
        _plot(d, args)
    proof = not args.no_proof
    status = _prove(d, args) if proof else 0
    with budget(args.timeout, f"writing {args.name} (its component forms)", _SMALLER):
        return status, _render(args, lambda: d.latex(proof=proof), lambda: d.markdown(proof=proof),
                               lambda: d.json(proof=proof) + "\n", lambda: d.text(proof=proof))


def _need_jax(what: str, otherwise: str) -> None:
    """JAX is the second oracle of every numeric check: without it, say what to install."""
    import importlib.util

    if importlib.util.find_spec("jax") is None:
        raise UsageError(f"{what}, which is not installed here: pip install 'jax[cpu]' (or {otherwise})")


def _short_usage() -> str:
    """What no arguments print: the usage line, the derivations, and where the rest is."""
    return (f"usage: {USAGE.format(prog=PROG)}\n\n" + _listing()
            + f"\n{PROG} NAME --help: a derivation's options; {PROG} --help: every option and examples\n")


def _listing() -> str:
    from .registry import entries

    known = entries()
    width = max(len(e.name) for e in known)
    lines = [f"{e.name:<{width}}  {e.description}" for e in known]
    lines.append(f"{'trace':<{width}}  P4: evaluation trace of any expression, forward and reverse mode "
                 f"({PROG} trace --help)")
    lines.append(f"{'report':<{width}}  every derivation, proof and numeric check in one LaTeX/PDF document "
                 f"({PROG} report --help)")
    return "\n".join(lines) + "\n"


def _refuse_mixed_flags(args):
    """Options that belong to the numeric check, or that the check cannot honour, in one line."""
    if args.output is not None and not args.output.strip():
        raise UsageError("-o needs a file name, e.g. -o shared_bias.tex")
    if not args.check:
        for flag, value in (("--params", args.params), ("--seed", args.seed), ("--eps", args.eps),
                            ("--lr", args.lr)):
            if value is not None:
                raise UsageError(f"{flag} is for numeric checks; add --check")
    elif args.latex or args.markdown:
        raise UsageError("--check prints a text table or, with --json, JSON; drop --latex/--markdown")
    elif args.plot is not None:
        raise UsageError("--plot draws the derivation, not the check; run it without --check")


def _plot(d, args):
    if not args.plot.lower().endswith((".png", ".pdf", ".svg")):
        raise UsageError(f"--plot writes an image: give a .png, .pdf or .svg file name; got {args.plot!r}")
    if not hasattr(d, "plot"):
        raise UsageError(f"--plot draws normal_normal's sequential predictives; {args.name} has no plot")
    d.plot(args.plot)


def _prove(d, args) -> int:
    """The proof (kept on disk, keyed by the code and the options); 1 when it fails."""
    from . import Derivation

    if not isinstance(d, Derivation) and not getattr(d, "is_model", False):
        return 0
    from .cache import cached_proof

    reasons: list = []
    with budget(args.timeout, f"proving {args.name}", _NO_PROOF):
        d._proof = cached_proof(d, refresh=args.no_cache, reasons=reasons)
    for why in reasons if args.verbose else ():
        _err(f"note: cached proof not used: {why}")
    return 0 if d.proof.holds else 1


def _proof_fits(args):
    """An unrolled RNN longer than the proof can finish in the default budget: say so before starting."""
    if args.no_proof or not args.steps or args.timeout > DEFAULT:
        return
    from .models.rnn import max_proved_steps

    most = max_proved_steps(args.activation, args.output_activation, args.loss)
    if args.steps > most:
        raise UsageError(f"the proof at --steps {args.steps} with these functions does not finish within "
                         f"{DEFAULT:g} s on 2 cores; add --no-proof, use --steps {most} or fewer, or give a "
                         "longer --proof-timeout")


def is_model_path(name: str) -> bool:
    """A model file rather than a derivation name: ends in .gp, or names a path."""
    return name.endswith(".gp") or "/" in name or "\\" in name


_NOT_FOR_MODELS = ("activation", "output_activation", "loss", "layers", "steps", "eps", "lr", "plot", "alpha",
                   "beta", "N", "y", "data", "sigma2", "tau2", "compare_tau2")


def _model(args) -> tuple[int, str]:
    """``python -m derive FILE.gp …``: a model file gets every option a built-in takes."""
    from .model_doc import load_model

    for key in _NOT_FOR_MODELS:
        if getattr(args, key, None) is not None:
            flag = "--" + key.replace("_", "-")
            raise UsageError(f"{flag} is an option of the built-in derivations; a model file writes its "
                             f"functions and losses itself (edit {args.name})")
    _check_flags(args)
    with budget(args.timeout, f"deriving {args.name}", _LONGER):
        d = load_model(args.name, wrt=args.wrt)
    if args.check:
        _need_jax("--check compares with JAX", "run without --check")
        checks_model = importlib.import_module("checks.model_check")
        with budget(args.timeout, f"checking {args.name}", _LONGER):
            return checks_model.run_model_check(d, seed=args.seed or 0, params=args.params, as_json=args.json)
    proof = not args.no_proof
    status = _prove(d, args) if proof else 0
    with budget(args.timeout, f"writing {args.name}", _LONGER):
        return status, _render(args, lambda: d.latex(proof=proof), lambda: d.markdown(proof=proof),
                               lambda: d.json(proof=proof) + "\n", lambda: d.text(proof=proof))


def _check_flags(args):
    if args.output is not None and not args.output.strip():
        raise UsageError("-o needs a file name, e.g. -o model.tex")
    if not args.check:
        for flag, value in (("--params", args.params), ("--seed", args.seed)):
            if value is not None:
                raise UsageError(f"{flag} is for numeric checks; add --check")
    elif args.latex or args.markdown:
        raise UsageError("--check prints a text table or, with --json, JSON; drop --latex/--markdown")


_BY_EXTENSION = {".md": "markdown", ".markdown": "markdown", ".json": "json", ".txt": "text"}


def _render(args, latex, markdown, json, text) -> str:
    """The format the flags ask for, or else the one ``-o FILE``'s extension names:
    ``.tex``/``.pdf`` a standalone LaTeX document (compiled by ``main`` for .pdf),
    ``.md``, ``.json``, ``.txt`` Markdown, JSON, text."""
    out = (args.output or "").lower()
    document = out.endswith((".tex", ".pdf"))
    if document and out.endswith(".pdf") and (args.json or args.markdown):
        raise UsageError("-o FILE.pdf writes a typeset document; drop --json/--markdown")
    if args.latex or (document and not (args.json or args.markdown)):
        return standalone(latex()) if document else latex()
    flag = "markdown" if args.markdown else "json" if args.json else None
    named = next((fmt for ext, fmt in _BY_EXTENSION.items() if out.endswith(ext)), None)
    if flag and named and flag != named:
        raise UsageError(f"-o {args.output} names {named}, but --{flag} asks for {flag}: "
                         "drop the flag or change the extension")
    return {"markdown": markdown, "json": json, "text": text}[flag or named or "text"]()


_LONGER = "--proof-timeout SECONDS allows longer"
_SMALLER = "smaller sizes (--steps, --layers), or --proof-timeout SECONDS allows longer"
_NO_PROOF = "--no-proof skips it, --proof-timeout SECONDS allows longer"


def printable(text: str) -> str:
    """``text`` without control characters (ESC, bells, carriage returns, bidi overrides), keeping
    line breaks and tabs: nothing a user typed can move the cursor or fake a line on a terminal."""
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def _err(line: str) -> None:
    """One line on standard error (if there is one), control characters removed."""
    progress.finish()  # the progress line, if one is shown, is cleared first
    if sys.stderr is not None:
        with contextlib.suppress(OSError, ValueError):  # a closed or full stderr: nothing more to say
            print(printable(line), file=sys.stderr)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


_INTERRUPTED = []  # a Ctrl-C seen during this run, even where a library swallowed its KeyboardInterrupt


def _on_sigint(signum, frame):
    _INTERRUPTED.append(signum)
    raise KeyboardInterrupt


def exit_process(status: int) -> None:
    """End the process with ``status``. After Ctrl-C (130) it ends at once, once the output is
    flushed: a half-imported SymPy or JAX must not turn the exit into a second interrupt."""
    if status == EXIT["interrupted"]:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(status)
    sys.exit(status)


def version() -> str:
    """The installed distribution's version (``gradproof.__version__``, read when asked)."""
    import gradproof

    return gradproof.__version__


def main(argv=None, prog: str | None = None) -> int:
    """The command line; ``prog`` is the name to print in usage (default: what was typed,
    from ``sys.argv[0]``, when ``argv`` comes from it too; ``python -m derive`` otherwise)."""
    global PROG
    PROG = prog or (program_name(sys.argv[0] if sys.argv else None) if argv is None else "python -m derive")
    argv = sys.argv[1:] if argv is None else argv
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None
    previous_int = signal.signal(signal.SIGINT, _on_sigint) if main_thread else None
    _INTERRUPTED.clear()
    if not any(a in ("-q", "--quiet") for a in argv):
        progress.enable()
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: temporary files are removed on the way out
        _err("interrupted")
        return EXIT["interrupted"]
    except OutOfTime as e:
        _err(f"error: {e}")
        return EXIT["timeout"]
    finally:
        progress.finish()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, previous_int)


def _main(argv) -> int:
    try:
        status, text, args_out = run(argv)
        if _INTERRUPTED:  # a KeyboardInterrupt some library swallowed (JAX's gc callback): still interrupted
            raise KeyboardInterrupt
        progress.finish()
    except CannotJudge as e:
        _err(f"cannot judge: {e}")
        return EXIT["cannot_judge"]
    except UsageError as e:
        _err(f"error: {e}")
        return 2
    except SystemExit as e:  # --help
        return int(e.code or 0)
    except RecursionError:
        _err("error: the input is nested too deeply to process")
        return 2
    except Exception as e:  # a bug, not bad input: still one line, and a distinct exit status
        _err(f"error: internal error ({type(e).__name__}: {e}); please report this command line")
        return 3
    try:
        if args_out and args_out.endswith(".pdf"):
            compile_pdf(text, args_out, runs=2 if r"\tableofcontents" in text else 1)
        elif args_out:
            write_atomic(args_out, text.encode("utf-8"))
        else:
            return _stdout(text, status)
    except UsageError as e:
        _err(f"error: {e}")
        return 2
    _err(f"wrote {args_out}")
    return status


def _ascii_stdout(text: str, status: int) -> int:
    """A terminal that cannot show Unicode gets the same output in plain ASCII (z₁ → z1, ∂ → d)."""
    from .symbols import ascii_text

    _err(f"note: standard output cannot encode Unicode ({sys.stdout.encoding}): writing plain ASCII; "
         "PYTHONIOENCODING=utf-8 or -o FILE gives the real symbols")
    try:
        sys.stdout.write(ascii_text(printable(text)))
        sys.stdout.flush()
    except (UnicodeEncodeError, OSError) as e:
        sys.stdout = None
        _err(f"error: cannot write to standard output: {e}")
        return 2
    return status


def _stdout(text: str, status: int) -> int:
    """Write the result to standard output; closed, full or unable to encode it: one line, exit 2."""
    if sys.stdout is None:
        _err("error: standard output is closed; write to a file with -o FILE")
        return 2
    try:
        sys.stdout.write(printable(text))
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head
        sys.stdout = None
    except UnicodeEncodeError:
        return _ascii_stdout(text, status)
    except OSError as e:
        sys.stdout = None  # nothing more can be written there
        _err(f"error: cannot write to standard output: {e.strerror}")
        return 2
    return status
