"""Every JSON document validates against the shipped schema (gradproof/schema/output.schema.json):
every built-in and example model (with and without the proof), both trace modes, and the
--check reports of built-ins, model files and the Bayes derivations."""
import json
import sys
from pathlib import Path

import pytest

from derive.cli import main
from derive.schema import SCHEMA_FILE, SCHEMA_VERSION

jsonschema = pytest.importorskip("jsonschema")
sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
import cases  # noqa: E402

VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def _valid(doc: dict, kind: str):
    errors = sorted(VALIDATOR.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5])
    assert doc["schema_version"] == SCHEMA_VERSION and doc["kind"] == kind
    assert list(doc)[:2] == ["schema_version", "kind"]


def test_the_schema_is_a_valid_schema_and_is_packaged():
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    assert SCHEMA_FILE.parent.parent.name == "gradproof"


@pytest.mark.parametrize(("case", "proof"), [(c, False) for c in cases.CASES] + [(c, True) for c in cases.PROVED])
def test_every_document_validates(case, proof):
    doc = json.loads(cases.path(case, "json", proof).read_text(encoding="utf-8"))  # the pinned output
    kind = "trace" if case.startswith("trace") else "bayes_derivation" if case in ("normal_normal",
                                                                                   "beta_binomial") else "derivation"
    _valid(doc, kind)


@pytest.mark.parametrize(("argv", "kind"), [
    (["shared_bias", "--check"], "check"),
    (["rnn_bptt", "--check", "--steps", "2"], "check"),
    (["examples/models/least_squares.gp", "--check"], "check"),
    (["beta_binomial", "--check"], "bayes_check"),
    (["normal_normal", "--check"], "bayes_check"),
])
def test_every_check_report_validates(argv, kind, capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    assert main([*argv, "--json"]) == 0
    _valid(json.loads(capsys.readouterr().out), kind)


def test_a_wrong_document_does_not_validate():
    doc = json.loads(cases.path("shared_bias", "json").read_text(encoding="utf-8"))
    doc["gradients"]["b"]["matrix"] = 3
    assert list(VALIDATOR.iter_errors(doc))
    assert list(VALIDATOR.iter_errors({**doc, "schema_version": 2}))
