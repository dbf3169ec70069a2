"""The `qed` entry point. For `qed verify`, the verifier's first run starts before the command line and the
models load (`verifier.prestart`); everything else goes straight to `verifier.cli`."""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "verify":
        from verifier import prestart

        prestart.start(sys.argv[2:])
    from verifier.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
