"""The command line: parse, call, print. All output is built elsewhere."""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import UsageError

__all__ = ["main", "build_parser"]

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

--params FILE.json: the derivation's inputs, targets and parameters as nested lists of
finite numbers (vectors as lists, matrices as lists of rows); sizes come from the file.
  shared_bias:     W (m×d), U (k×m, k = m), b (m), x (d), y (k)
  input_gradient:  W1 (m1×d), b1 (m1), …, W{L+1} (k×mL), b{L+1} (k), x (d), y (k, summing to 1 for ce)
  sigmoid_mlp:     W1 (H×M), b1 (H), W2 (1×H or a list of H), b2 (number), x (M), y (number)
  rnn_bptt:        W (m×m), U (m×n), V (k×m), b (m), c (k), x (list of T vectors of n),
                   y (list of T vectors of k), h0 (m, optional: zeros); T comes from x

exit status: 0 ok, 1 a check failed, 2 bad usage or bad input.
"""


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: a whole number ≥ 0") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid seed {value}: a whole number ≥ 0")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, via UsageError
        raise UsageError(f"{message} (see: python -m derive --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m derive", description="Derive, prove and export neural-network gradients.",
                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="a derivation name, or 'list'")
    p.add_argument("--activation", help="hidden activation: g (generic), sigmoid, tanh, relu, softplus, identity")
    p.add_argument("--output-activation", dest="output_activation",
                   help="output activation: g1 (generic), sigmoid, tanh, relu, softplus, identity, softmax")
    p.add_argument("--loss", help="loss: l (generic ℓ), mse, bce, ce")
    p.add_argument("--layers", type=int, help="input_gradient: number of hidden layers, 1 to 5 (default 2)")
    p.add_argument("--steps", type=int, help="rnn_bptt: time steps T, 1 to 40 (default 3)")
    p.add_argument("--wrt", help="comma-separated parameters or inputs to differentiate (default: the problem's)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="LaTeX (a fragment; -o FILE.tex writes a document)")
    fmt.add_argument("--markdown", action="store_true", help="Markdown with $…$ math")
    fmt.add_argument("--json", action="store_true", help="JSON (schema in the README)")
    p.add_argument("-o", "--output", help="write to FILE instead of stdout")
    p.add_argument("--no-proof", action="store_true", help="skip the symbolic proof")
    p.add_argument("--check", action="store_true",
                   help="check numerically against JAX and finite differences (exit 1 on disagreement)")
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


def run(argv) -> tuple[int, str, str | None]:
    """Run the CLI on ``argv``; returns (exit status, text, output path or None)."""
    args = build_parser().parse_args(argv)
    status, text = _dispatch(args)
    return status, text, args.output


def _dispatch(args) -> tuple[int, str]:
    from . import derive, names
    from .registry import REGISTRY

    if args.name == "list":
        width = max(len(n) for n in names())
        return 0, "\n".join(f"{n:<{width}}  {REGISTRY[n].description}" for n in names()) + "\n"
    wrt = [w.strip() for w in args.wrt.split(",") if w.strip()] if args.wrt else None
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
    if args.check:
        # numbers live in checks/ and numeric/ (JAX); imported only when asked for
        checks_cli = importlib.import_module("checks.cli")
        return checks_cli.run_check(args.name, _options(args), seed=args.seed or 0, params=args.params,
                                    as_json=args.json, wrt=wrt, eps=args.eps, lr=args.lr)
    d = derive(args.name, wrt=wrt, **_options(args))
    if args.plot is not None:
        if not hasattr(d, "plot"):
            raise UsageError(f"--plot draws normal_normal's sequential predictives; {args.name} has no plot")
        d.plot(args.plot)
    proof = not args.no_proof
    if args.output and args.output.endswith(".tex") and not (args.json or args.markdown):
        args.latex = True
    if args.latex:
        body = d.latex(proof=proof)
        if args.output and args.output.endswith(".tex"):
            body = standalone(body)
        return 0, body
    if args.markdown:
        return 0, d.markdown(proof=proof)
    if args.json:
        return 0, d.json(proof=proof) + "\n"
    return 0, d.text(proof=proof)


def standalone(body: str) -> str:
    """Wrap a LaTeX body in a document that compiles with pdflatex."""
    return "\n".join([
        r"\documentclass[11pt]{article}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\usepackage{amsmath,amssymb}",
        r"\allowdisplaybreaks",
        r"\begin{document}",
        body,
        r"\end{document}",
        "",
    ])


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        status, text, args_out = run(argv)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help
        return int(e.code or 0)
    if args_out:
        try:
            with open(args_out, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as e:
            print(f"error: cannot write {args_out!r}: {e.strerror}", file=sys.stderr)
            return 2
        print(f"wrote {args_out}", file=sys.stderr)
    else:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. piped into head
            sys.stdout = None
    return status
