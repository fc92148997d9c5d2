"""The one exception type the command line turns into a clear line and exit 2."""


class UsageError(ValueError):
    """Bad input from a user: an unknown name, a malformed file, a wrong shape.

    The message is one line saying what was wrong, what was received and what
    would work; the CLI prints it on stderr and exits with status 2.
    """


def unknown(kind, name, choices):
    """Build the standard 'unknown X' error listing the valid choices."""
    return UsageError(
        f"unknown {kind} {name!r}; choose one of: {', '.join(sorted(choices))}"
    )
