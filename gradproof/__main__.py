"""``python -m gradproof`` and the ``gradproof`` command: the same CLI as ``python -m derive``."""
import os
import signal
import sys


def _interrupted() -> None:
    print("interrupted", file=sys.stderr, flush=True)
    os._exit(130)  # at once: the half-imported modules' finalisation must not be interrupted again


def main() -> int:
    from gradproof import NotOurs, ensure_ours

    seen = []

    def on_sigint(signum, frame):
        seen.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)  # a library may swallow the KeyboardInterrupt; not the flag
    try:
        ensure_ours()  # reads the three packages' markers; Ctrl-C may come during the imports below
        from derive.cli import main as cli
    except NotOurs as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _interrupted()
    if seen:
        _interrupted()

    from derive.cli import exit_process

    prog = "python -m gradproof" if sys.argv and sys.argv[0].endswith("__main__.py") else "gradproof"
    exit_process(cli(prog=prog))
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
