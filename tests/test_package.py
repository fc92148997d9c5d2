"""The installed package: one import name, its version, its command, and what it does
when another distribution has put its own ``derive`` where ours should be."""
import subprocess
import sys
from importlib import metadata

import gradproof


def test_import_name_version_and_exports():
    assert gradproof.__version__ == metadata.version("gradproof")
    assert gradproof.derive("shared_bias").formula("b") == "δ_hidden + δ_out"
    from gradproof import assert_gradients, gradcheck

    assert callable(gradcheck) and callable(assert_gradients)
    assert set(gradproof.__all__) >= {"derive", "model", "load_model", "trace", "gradcheck", "check_derivation"}


def test_import_gradproof_imports_nothing_heavy():
    code = "import sys, gradproof; print(sorted(m for m in ('sympy', 'numpy', 'jax', 'derive') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


def test_python_m_gradproof_is_the_cli():
    r = subprocess.run([sys.executable, "-m", "gradproof", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"gradproof {gradproof.__version__}"
    r = subprocess.run([sys.executable, "-m", "gradproof"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("usage: python -m gradproof {NAME | list")


def test_a_foreign_derive_package_is_named_in_one_line(tmp_path):
    # what PyPI's `derive` does to a plain install: its derive/__init__.py replaces ours
    fake = tmp_path / "derive" / "__init__.py"
    fake.parent.mkdir()
    fake.write_text("VERSION = '0.2.2'  # another distribution's derive\n")
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('derive', {str(fake)!r})\n"
            "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
            "sys.modules['derive'] = module\n"
            "sys.argv = ['gradproof', 'shared_bias']\n"
            "from gradproof.__main__ import main; raise SystemExit(main())\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        f"error: the module 'derive' at {fake} is not gradproof's (another distribution installed "
        "files there); fix: pip uninstall derive, then pip install --force-reinstall gradproof"]
