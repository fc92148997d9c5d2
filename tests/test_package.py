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


def test_a_command_imports_only_the_derivation_it_names():
    """``python -m derive shared_bias`` imports that model's module, not every model, the
    Bayes derivations, the distribution metadata or SymPy's assumptions solver."""
    code = ("import sys, io, contextlib\nfrom derive.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(['shared_bias', '--no-proof'])\n"
            "print(sorted(m for m in ('derive.bayes', 'derive.models.rnn', 'derive.models.mlp', 'importlib.metadata',"
            " 'sympy.assumptions.satask', 'numpy', 'jax', 'checks') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]", r.stdout


def test_the_built_in_table_names_what_each_module_registers():
    """derive.registry.BUILT_INS (read without importing the models) against the registry
    the modules fill when they are all imported."""
    from derive.registry import BUILT_INS, REGISTRY, entries, names

    assert [e.name for e in entries()] == names() == sorted(REGISTRY)
    for name, module in BUILT_INS.items():
        assert REGISTRY[name].build.__module__ == module, name


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
