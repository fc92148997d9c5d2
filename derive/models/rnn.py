"""P5 — backpropagation through time for an RNN, unrolled over T steps.

    a_t = W h_{t−1} + U x_t + b,  h_t = g(a_t),  o_t = V h_t + c,
    ŷ_t = softmax(o_t),  L = Σ_t ℓ(ŷ_t, y_t),  t = 1…T, h₀ the initial state.

The bias b occurs once per time step, so the engine unties it into b₍₁₎…b₍T₎
and ∂L/∂b = Σ_t δ_t: the shared-bias mechanism with T occurrences. Nothing
here is RNN-specific calculus.
"""
from ..errors import UsageError
from ..functions import activation as _activation, loss as _loss
from ..graph import Graph
from ..registry import Spec, register

MAX_STEPS = 50  # the derivation and --check at T = 50 take about 5 s and 9 s on 2 cores
MAX_PROVED_STEPS = 15  # the proof at T = 15 takes about 5 s (tanh) to 10 s (relu), relu at T = 20 about 80 s (2 cores)
SMOOTH_PROVED_STEPS = 30  # tanh, σ, softplus or identity with registered outputs and losses: about 8-13 s at T = 30
SMOOTH = {"tanh", "sigmoid", "softplus", "identity"}


def max_proved_steps(activation=None, output_activation=None, loss=None) -> int:
    """The longest unrolling whose proof finishes within the default 60 s budget on 2 cores: the
    registered smooth activations prove further than relu (whose Heaviside derivatives SymPy
    re-evaluates as it builds) or generic and typed functions (measured: T = 30 with g, g1, ℓ
    runs past 200 s)."""
    registered = output_activation in (None, "softmax", "sigmoid", "tanh", "identity", "softplus") \
        and loss in (None, "ce", "bce", "mse")
    return SMOOTH_PROVED_STEPS if (activation or "tanh") in SMOOTH and registered else MAX_PROVED_STEPS

NOTES = [
    "Time steps are numbered t = 1…T; h₀ is the initial state (the problem's h₋₁), zero unless given.",
    "Two ways to split the same gradient. Reverse mode (above) splits ∂L/∂b by where b enters: "
    "b̄₍ₜ₎ = δ_t = ∂L/∂a_t collects the effect of step t's copy of b on every later loss ℓ_t, ℓ_{t+1}, …, "
    "which is why δ_t needs Wᵀ δ_{t+1} from the step after. Forward mode (below) splits it by loss "
    "term: the sensitivity da_t/db carries b's influence through all earlier steps, and step t "
    "contributes (da_t/db)ᵀ ∂ℓ_t/∂a_t. Both sums are the same number; the proof checks it.",
]


@register("rnn_bptt", "P5: ∂L/∂b of a tanh RNN with softmax outputs, backpropagation through time",
          problem="P5", defaults={"activation": "tanh", "output_activation": "softmax", "loss": "ce",
                                  "steps": 3},
          params="W (m×m), U (m×n), V (k×m), b (m), c (k), x (list of T vectors of n), "
                 "y (list of T vectors of k), h0 (m, optional: zeros); T comes from x",
          sequence_params=True, worked_solution="checks.rnn:worked_solution",
          check_options={"--eps E, --lr R": "with --check: the central-difference step, one descent step on b"})
def rnn_bptt(activation="tanh", output_activation="softmax", loss="ce", steps=3) -> Spec:
    if not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise UsageError(f"--steps must be a whole number from 1 to {MAX_STEPS}; got {steps!r}")
    g = Graph("rnn_bptt", dims={"n": "n", "m": "m", "k": "k"})
    g.input("h0", "m", role="initial state")
    for t in range(1, steps + 1):
        g.input(f"x{t}", "n")
    for t in range(1, steps + 1):
        g.target(f"y{t}", "k")
    g.param("W", "m", "m")
    g.param("U", "m", "n")
    g.param("b", "m")
    g.param("V", "k", "m")
    g.param("c", "k")
    act = _activation(activation, generic_name="g", hidden=True)
    out = _activation(output_activation, generic_name="g1")
    ell = _loss(loss)
    for t in range(1, steps + 1):
        g.affine(f"a{t}", ("W", f"h{t - 1}"), ("U", f"x{t}"), bias="b", adjoint=f"delta{t}", path=f"t = {t}")
        g.activation(f"h{t}", act, f"a{t}")
        g.affine(f"o{t}", ("V", f"h{t}"), bias="c", path=f"output t = {t}")
        g.activation(f"yhat{t}", out, f"o{t}")
        g.loss(f"ell{t}", ell, f"yhat{t}", f"y{t}")
    return Spec(
        graph=g,
        wrt=["b"],
        proof_sizes={"n": 1, "m": 2, "k": 2},
        check_sizes={"n": 2, "m": 3, "k": 3},
        title=f"Backpropagation through time for the RNN bias, T = {steps}",
        constraints=["n inputs, m hidden units, k output classes; L = Σ_t ℓ_t"],
        discussion=NOTES,
        forward_mode="b",
    )
