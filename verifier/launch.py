"""The `qed` entry point. It installs the signal handling (`verifier.signals`); for `qed verify`, the verifier's
first run starts (or the cached answer is printed) before the command line and the models load
(`verifier.prestart`); everything else goes straight to `verifier.cli`."""

from __future__ import annotations

import os
import sys


def main() -> None:
    from verifier import signals

    signals.install()
    verify = len(sys.argv) > 2 and sys.argv[1] == "verify"
    try:
        if verify:
            from verifier import prestart

            prestart.start(sys.argv[2:])
        from verifier.cli import main as cli

        cli()
    except signals.Interrupted as stop:
        print(stop.message(), file=sys.stderr)
        exit_now(stop.exit_code)
    except SystemExit as done:
        if signals.received is not None:  # stopped by a signal, whatever the unwinding turned it into
            _stopped(signals.received)
        if verify:
            exit_now(done.code)
        raise
    except BaseException:
        if signals.received is not None:  # an error raised while unwinding after a signal
            _stopped(signals.received)
        raise


def _stopped(signum: int) -> None:
    from verifier import signals

    print(signals.Interrupted(signum).message(), file=sys.stderr)
    exit_now(128 + signum)


def exit_now(code: object) -> None:
    """Exit like `sys.exit(code)` but without the interpreter's module teardown, which costs about 25 ms once
    pydantic is loaded (a tenth of a second-long verifier run's overhead), and without waiting for worker
    threads (after a signal, one may be stuck in a network call). Exit handlers run and output is flushed first
    (temporary folders, early runs, sessions: everything `atexit` and `weakref.finalize` clean up), so nothing
    pending is lost. Only for the end of the `qed` process, never inside a library call."""
    import atexit

    status = code if isinstance(code, int) else (0 if code is None else 1)
    if not isinstance(code, int) and code is not None:
        print(code, file=sys.stderr)
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(status)


if __name__ == "__main__":
    main()
