"""``python -m derive``: see :mod:`derive.cli`."""
from .cli import exit_process, main

if __name__ == "__main__":
    exit_process(main())
