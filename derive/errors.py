"""The one exception type the command line turns into a clear line and exit 2."""


class UsageError(ValueError):
    """Bad input from a user: an unknown name, a malformed file, a wrong shape.

    The message is one line saying what was wrong, what was received and what
    would work; the CLI prints it on stderr and exits with status 2.
    """


class CannotJudge(UsageError):
    """A check that cannot reach a verdict at all (the derived gradient does not evaluate to
    finite numbers in float64 where the oracles do): one line, exit status 4."""


def unknown(kind, name, choices):
    """Build the standard 'unknown X' error listing the valid choices."""
    return UsageError(
        f"unknown {kind} {name!r}; choose one of: {', '.join(sorted(choices))}"
    )


# exit statuses of the command line, one meaning each (documented in the README and in --help)
EXIT = {
    "passed": 0,  # everything asked for held
    "failed": 1,  # a proof or a check failed: the result is wrong
    "usage": 2,  # bad usage or bad input
    "internal": 3,  # a bug: please report the command line
    "cannot_judge": 4,  # no check failed, but some gradient entries had no oracle able to judge them
    "timeout": 5,  # the work did not finish within its time budget
    "interrupted": 130,  # Ctrl-C or SIGTERM
}
