"""P2 and P3 — feed-forward MLPs: the input gradient, and the sigmoid MLP element by element.

Both only declare graphs; the engine's affine rule already continues the
reverse sweep past the first layer when x is differentiated (x̄ = W₁ᵀ δ₁).
"""
from ..errors import UsageError
from ..functions import activation as _activation, loss as _loss
from ..graph import Graph
from ..registry import Spec, register

MAX_LAYERS = 5

MODIFICATION = [
    "Standard backpropagation stops at δ₁ = ∂L/∂z₁: the parameter gradients only need the δ's. "
    "For ∂L/∂x the reverse sweep takes one more step, through the first affine map, by the same "
    "affine rule it applies between hidden layers (the last step above). Nothing else changes, and "
    "the parameter gradients are not needed.",
]

RANKING = [
    "function input_gradients(X, Y):            # X: N x d data set, Y: N x k one-hot targets",
    "    for each sample n:  g[n] = input_gradient(X[n], Y[n])   # vectorised: one batched sweep",
    "    return G                                 # N x d",
    "",
    "function rank_features(X, Y, names):",
    "    G = input_gradients(X, Y)",
    "    s[i] = mean over n of |G[n, i]|          # mean absolute sensitivity of feature i",
    "    return names sorted by s, largest first",
]

WHY = [
    "Why |∂L/∂xᵢ| measures contribution: by Taylor's theorem L(x + Δ) ≈ L(x) + Σᵢ (∂L/∂xᵢ) Δᵢ, so "
    "|∂L/∂xᵢ| is the first-order change in the loss per unit change of feature i; averaged over the "
    "data set it ranks the features the model's loss is most sensitive to (on standardised features, "
    "so that a unit change means the same for each). A leaked shortcut shows up as one feature with a "
    "much larger mean |∂L/∂xᵢ| than the rest.",
]


@register("input_gradient", "P2: ∂L/∂x of an MLP (softmax + cross-entropy), for feature attribution",
          problem="P2", defaults={"activation": "g", "output_activation": "softmax", "loss": "ce",
                                  "layers": 2},
          params="W1 (m1×d), b1 (m1), …, W{L+1} (k×mL), b{L+1} (k), x (d), y (k, summing to 1 for ce)")
def input_gradient(activation="g", output_activation="softmax", loss="ce", layers=2) -> Spec:
    if not isinstance(layers, int) or not 1 <= layers <= MAX_LAYERS:
        raise UsageError(f"--layers must be a whole number from 1 to {MAX_LAYERS}; got {layers!r}")
    g = Graph("input_gradient")
    g.input("x", "d")
    g.target("y", "k")
    sizes = ["d"] + [f"m{k}" for k in range(1, layers + 1)] + ["k"]
    for k in range(1, layers + 2):
        g.param(f"W{k}", sizes[k], sizes[k - 1])
        g.param(f"b{k}", sizes[k])
    act = _activation(activation, generic_name="g", hidden=True)
    prev = "x"
    for k in range(1, layers + 2):
        g.affine(f"z{k}", (f"W{k}", prev), bias=f"b{k}", adjoint=f"delta{k}",
                 path="input" if k == 1 else None)
        out = f"h{k}" if k <= layers else "yhat"
        g.activation(out, act if k <= layers else _activation(output_activation, generic_name="g1"), f"z{k}")
        prev = out
    g.loss("L", _loss(loss), "yhat", "y")
    hidden = " and ".join(f"m{k}" for k in range(1, layers + 1))
    return Spec(
        graph=g,
        wrt=["x"],
        proof_sizes={"d": 2, "k": 2, **{f"m{k}": 2 for k in range(1, layers + 1)}},
        check_sizes={"d": 4, "k": 3, **{f"m{k}": 3 for k in range(1, layers + 1)}},
        title=f"Input gradient ∂L/∂x of a {layers}-hidden-layer MLP",
        constraints=[f"hidden widths {hidden}; k output classes"],
        sections=[("How backpropagation is modified", MODIFICATION),
                  ("Pseudocode: the input gradient", "@pseudocode"),
                  ("Pseudocode: ranking features over a data set", RANKING),
                  ("Why the magnitude measures contribution", WHY)],
        batch="N",
    )


@register("sigmoid_mlp", "P3: sigmoid MLP for binary classification, ∂L/∂b₂, ∂L/∂W₂ʰ, ∂L/∂b₁ʰ, ∂L/∂W₁ʰʲ",
          problem="P3", defaults={"activation": "sigmoid", "output_activation": "sigmoid", "loss": "bce"},
          params="W1 (H×M), b1 (H), W2 (1×H or a list of H), b2 (number), x (M), y (number)",
          loss_example="(yhat_1 - y_1)**2")
def sigmoid_mlp(activation="sigmoid", output_activation="sigmoid", loss="bce") -> Spec:
    g = Graph("sigmoid_mlp")
    g.input("x", "M")
    g.target("y", 1)
    g.param("W1", "H", "M")
    g.param("b1", "H")
    g.param("W2", 1, "H")
    g.param("b2", 1)
    g.affine("a1", ("W1", "x"), bias="b1", adjoint="delta1", path="hidden")
    g.activation("z1", _activation(activation, generic_name="g", hidden=True), "a1")
    g.affine("a2", ("W2", "z1"), bias="b2", adjoint="delta2", path="output")
    g.activation("yhat", _activation(output_activation, generic_name="g1"), "a2")
    g.loss("L", _loss(loss), "yhat", "y")
    return Spec(
        graph=g,
        wrt=["b2", "W2", "b1", "W1"],
        proof_sizes={"M": 2, "H": 2},
        check_sizes={"M": 4, "H": 3},
        title="Sigmoid MLP for binary classification, element by element",
        constraints=["M input dimensions, H hidden units, one output; ŷ = z₂ = σ(a₂)"],
        indices={"W2": ("h",), "b1": ("h",), "W1": ("h", "j")},
        batch="N",
    )
