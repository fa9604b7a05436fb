"""A time bound for tests of things that once hung: failing, not hanging the run."""

import contextlib
import signal

import pytest


class _Overtime(Exception):
    pass


@contextlib.contextmanager
def within_seconds(seconds, what):
    """Fail the test when the block runs past ``seconds`` (SIGALRM: main thread, Unix).

    The failure is a one-line message: pytest cannot render the deep SymPy frames such a
    block is interrupted in (an INTERNALERROR on ``tb_lineno`` None)."""
    def overtime(*_):
        raise _Overtime
    previous = signal.signal(signal.SIGALRM, overtime)
    signal.alarm(seconds)
    try:
        yield
    except _Overtime:
        pytest.fail(f"{what} took over {seconds} s", pytrace=False)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
