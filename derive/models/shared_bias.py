"""P1 — one bias vector b shared by both affine layers of a two-layer MLP.

    z₁ = W x + b,  h₁ = g(z₁),  z₂ = U h₁ + b,  ŷ = g₁(z₂),  L = ℓ(ŷ, y)

b occurs twice, so the engine unties it into b₍₁₎ (hidden path) and b₍₂₎
(output path) and sums the two adjoints: ∂L/∂b = δ_hidden + δ_out.
"""
from ..functions import activation as _activation, loss as _loss
from ..graph import Graph
from ..registry import Spec, register

DISCUSSION = [
    "Does sharing b affect convergence speed or stability, compared with independent biases b₁, b₂? "
    "Yes.",
    "Parameter coupling: one vector must serve two layers. Every update moves both pre-activations "
    "z₁ and z₂ by the same Δb, so a step that helps the output layer can hurt the hidden layer and "
    "vice versa; the untied model can move them separately.",
    "Effective degrees of freedom: m bias parameters instead of 2m. The tied model is the untied one "
    "restricted to the subspace b₁ = b₂; its minimum loss can only be equal or higher.",
    "Gradient magnitude from multiple paths: the result above is the sum of the two untied "
    "gradients (b̄₍₁₎ and b̄₍₂₎). When they agree the step is up to twice as large as either (a learning rate tuned "
    "for independent biases can overshoot); when they disagree they cancel and b learns slowly.",
    "Conditioning: the curvature in b is the sum of four blocks of the untied Hessian, "
    "H₁₁ + H₁₂ + H₂₁ + H₂₂. The hidden path is scaled by Uᵀ and g′(z₁), the output path is not, "
    "so the two terms can differ by orders of magnitude and the coupled problem is typically worse "
    "conditioned: smaller stable learning rates and slower, less stable convergence than with "
    "independent biases.",
]


@register("shared_bias", "P1: ∂L/∂b for a two-layer MLP whose bias b is shared by both layers",
          problem="P1", defaults={"activation": "g", "output_activation": "g1", "loss": "l"},
          params="W (m×d), U (k×m, k = m), b (m), x (d), y (k)")
def shared_bias(activation="g", output_activation="g1", loss="l") -> Spec:
    g = Graph("shared_bias", dims={"k": "m"})
    g.input("x", "d")
    g.target("y", "k")
    g.param("W", "m", "d")
    g.param("U", "k", "m")
    g.param("b", "m")
    g.affine("z1", ("W", "x"), bias="b", path="hidden", adjoint="delta_hidden")
    g.activation("h1", _activation(activation, generic_name="g", hidden=True), "z1")
    g.affine("z2", ("U", "h1"), bias="b", path="output", adjoint="delta_out")
    g.activation("yhat", _activation(output_activation, generic_name="g1"), "z2")
    g.loss("L", _loss(loss), "yhat", "y")
    return Spec(
        graph=g,
        wrt=["b"],
        proof_sizes={"d": 2, "m": 2},
        check_sizes={"d": 3, "m": 3},
        title="Shared bias: one b in both affine layers",
        constraints=["m = k: b is added to both z₁ ∈ ℝᵐ and z₂ ∈ ℝᵏ"],
        discussion=DISCUSSION,
    )
