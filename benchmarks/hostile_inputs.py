"""How long qed's text processing takes on hostile 1 MB inputs: the code extractor (on a model's answer), and the
Dafny lexer, declaration outline and integrity guard (on a candidate). All should grow linearly with the input.

Prints one row per input kind with the time of each stage (and what it ended with). Never asserts.

    python benchmarks/hostile_inputs.py [--mb 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def inputs(size: int) -> dict[str, str]:
    return {
        "plain program": "method M(x: int) returns (y: int) ensures y == x { y := x; }\n" * (size // 60),
        "one long line": "method M() { var x := " + "1 + " * (size // 4) + "1; }",
        "nested braces": "method M() " + "{" * (size // 2) + "}" * (size // 2),
        "nested parens": "method M() { var x := " + "(" * (size // 2) + "1" + ")" * (size // 2) + "; }",
        "NUL bytes": "method M() {}\n" + "\x00" * size,
        "invalid UTF-8 (decoded)": (b"method M() {}\n" + b"\xff\xfe" * (size // 2)).decode("utf-8", "replace"),
        "look-alike letters": "method M() { var \u0430 := 1; }\n" * (size // 28),
        "unclosed comment": "/*" + "x" * size,
        "unclosed string": 'method M() { var s := "' + "x" * size,
        "prose": "This is a sentence about code. " * (size // 30),
        "many fences": "```dafny\nmethod M() {}\n```\n" * (size // 30),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=1.0)
    args = ap.parse_args()

    from backends.dafny.integrity import check_integrity
    from backends.dafny.lexer import tokenize
    from backends.dafny.syntax import outline
    from verifier.extract import extract_code

    stages = (("extract", lambda t: extract_code("```dafny\n" + t + "\n```", "dafny")), ("lex", tokenize),
              ("outline", outline), ("guard", lambda t: check_integrity(t, "candidate.dfy")))
    size = int(args.mb * (1 << 20))
    print(f"inputs of {size:,} characters")
    for name, text in inputs(size).items():
        row = [f"{name:24}"]
        for label, run in stages:
            t0 = time.perf_counter()
            try:
                run(text)
                how = ""
            except Exception as e:  # noqa: BLE001 - reported, not hidden
                how = f" ({type(e).__name__})"
            row.append(f"{label} {time.perf_counter() - t0:6.2f} s{how}")
        print("  ".join(row), flush=True)


if __name__ == "__main__":
    main()
