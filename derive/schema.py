"""The JSON documents' common header, and where their schema is.

Every ``--json`` document starts with ``schema_version`` and ``kind``
(``derivation``, ``bayes_derivation``, ``trace``, ``check``, ``bayes_check``);
``gradproof/schema/output.schema.json`` (JSON Schema 2020-12) describes them all.
``schema_version`` changes when a field is removed or changes meaning.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["SCHEMA_FILE", "SCHEMA_VERSION", "header"]

SCHEMA_VERSION = 1
SCHEMA_FILE = Path(__file__).resolve().parents[1] / "gradproof" / "schema" / "output.schema.json"


def header(kind: str) -> dict:
    """``{"schema_version": …, "kind": kind}``: the first two fields of every JSON document."""
    return {"schema_version": SCHEMA_VERSION, "kind": kind}
