"""``python -m gradproof`` and the ``gradproof`` command: the same CLI as ``python -m derive``."""
import sys


def main() -> int:
    from gradproof import NotOurs, ensure_ours

    try:
        ensure_ours()  # imports derive, numeric and checks (SymPy, NumPy): Ctrl-C may come during it
        from derive.cli import main as cli
    except NotOurs as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

    prog = "python -m gradproof" if sys.argv and sys.argv[0].endswith("__main__.py") else "gradproof"
    return cli(prog=prog)


if __name__ == "__main__":
    raise SystemExit(main())
