"""Every result object a user gets renders in a notebook: a small notebook runs in a
real kernel (nbclient) and every output must carry text/markdown (and LaTeX where a
derivation offers it)."""
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
CELLS = {  # source: the MIME types its output must have
    "import os\nos.environ['GRADPROOF_CACHE'] = 'off'\nimport numpy as np\nimport gradproof": None,
    "d = gradproof.derive('shared_bias')\nd": {"text/markdown", "text/latex", "text/plain"},
    "d.proof": {"text/markdown", "text/plain"},
    "gradproof.load_model('examples/models/least_squares.gp')": {"text/markdown", "text/latex", "text/plain"},
    "gradproof.derive('beta_binomial')": {"text/markdown", "text/latex", "text/plain"},
    "t = gradproof.trace('x*y + sin(x)', {'x': '1', 'y': '2'}, reverse=True)\nt": {"text/markdown", "text/plain"},
    "r = gradproof.gradcheck(lambda v: np.sum(v ** 3), np.array([1.0, 2.0]), lambda v: 3 * v ** 2, jax=False)\nr":
        {"text/markdown", "text/plain"},
    "r.tensors['x']": {"text/markdown", "text/plain"},
    "gradproof.check_derivation('shared_bias', {'activation': 'tanh'}, seed=0)": {"text/markdown", "text/plain"},
    "from checks.bayes import check_beta_binomial\ncheck_beta_binomial({})": {"text/markdown", "text/plain"},
}


def test_every_result_object_renders_as_markdown_in_a_kernel():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in CELLS])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    for cell, want in zip(nb.cells, CELLS.values(), strict=True):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, (cell.source, errors[0].get("evalue"))
        if want is None:
            continue
        results = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert len(results) == 1, cell.source
        assert want <= set(results[0].data), (cell.source, sorted(results[0].data))
        markdown = results[0].data["text/markdown"]
        assert len(markdown) < 60_000 and not markdown.startswith(("GradcheckReport(", "ProofResult(")), cell.source
    trace_md = nb.cells[5].outputs[0].data["text/markdown"]
    assert "**Adjoint trace (reverse mode)**" in trace_md  # the reverse-mode trace's Markdown has the adjoints
