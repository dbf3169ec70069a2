"""Example calls and values as Dafny text: split a call into callee and arguments, hoist what cannot stand in an
expression (`new int[3][4, 9, 2]`), add element hints for literal collections, and propose other values of a
type (witness candidates, generated inputs).

Everything here only writes text for the verifier or the compiler to check: a wrong hint or a wrong value makes
a query fail (or not resolve), never makes one succeed wrongly (see `queries.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..lexer import tokenize
from ..syntax import IDENT, NUMBER, OP, STRING, Token

MAX_HINT_ELEMENTS = 40


@dataclass
class Call:
    """`callee(args)` with the arguments as text; `setup` are statements to run before (hoisted `new`s and
    hints), `args` the argument expressions to use in the call."""

    callee: str
    args: list[str]
    setup: list[str] = field(default_factory=list)

    def text(self) -> str:
        return f"{self.callee}({', '.join(self.args)})"


def _split_top(toks: list[Token], src: str) -> list[str] | None:
    """The comma-separated parts of `toks` (no brackets around them) as source text."""
    parts: list[str] = []
    depth, start = 0, 0
    for i, t in enumerate(toks):
        if t.kind == OP and t.text in "([{":
            depth += 1
        elif t.kind == OP and t.text in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif t.kind == OP and t.text == "," and depth == 0:
            if i == start:
                return None
            parts.append(src[toks[start].offset:toks[i - 1].end])
            start = i + 1
    if start < len(toks):
        parts.append(src[toks[start].offset:toks[-1].end])
    elif toks:
        return None  # a trailing comma
    return parts


def split_elements(text: str) -> list[str] | None:
    """The elements of a display `[a, b]`, `(a, b)` or `{a, b}` written as `text` (None: not a display)."""
    toks = tokenize(text)
    if len(toks) < 2 or toks[0].kind != OP or toks[0].text not in "([{" or toks[-1].kind != OP:
        return None
    if _close(toks, 0) != len(toks) - 1:
        return None
    return _split_top(toks[1:-1], text)


def _close(toks: list[Token], i: int) -> int:
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].kind == OP and toks[j].text in "([{":
            depth += 1
        elif toks[j].kind == OP and toks[j].text in ")]}":
            depth -= 1
            if depth == 0:
                return j
    return -1


def parse_call(call: str, types: list[str] | None = None) -> Call | None:
    """`Foo.Bar(a, new int[2][1, 2])` -> Call("Foo.Bar", ["a", "qeda2"], setup=[...]); None when `call` is not a
    single call of a (possibly qualified) name. With the parameters' `types` (as written), non-empty sequence
    displays and plain string literals are hoisted too, with their elements asserted (hints for the solver)."""
    toks = tokenize(call)
    i = 0
    names: list[str] = []
    while i < len(toks) and toks[i].kind == IDENT and (not names or toks[i - 1].text == "."):
        names.append(toks[i].text)
        i += 1
        if i < len(toks) and toks[i].text == ".":
            i += 1
    if not names or i >= len(toks) or toks[i].text != "(" or _close(toks, i) != len(toks) - 1:
        return None
    args = _split_top(toks[i + 1:-1], call)
    if args is None:
        return None
    out = Call(".".join(names), [])
    for k, a in enumerate(args, 1):
        if a.startswith("new") and tokenize(a)[0].text == "new":
            var = f"qeda{k}"
            out.setup.append(f"var {var} := {a};")
            out.setup += array_hints(var, a)
            out.args.append(var)
        elif types is not None and k <= len(types) and (hints := sequence_hints(f"qeda{k}", a)):
            out.setup.append(f"var qeda{k}: {types[k - 1]} := {a};")
            out.setup += hints
            out.args.append(f"qeda{k}")
        else:
            out.args.append(a)
    return out


def sequence_hints(var: str, display: str) -> list[str]:
    """`assert |var| == 2 && var[0] == (1) && var[1] == (2);` for a non-empty display `[1, 2]` or a string
    literal without escapes or quotes; [] otherwise."""
    text = display.strip()
    if is_string_literal(text) and "\\" not in text and "'" not in text and text.startswith('"'):
        elems = [f"'{c}'" for c in text[1:-1]]
    elif text.startswith("["):
        elems = split_elements(text)
    else:
        return []
    if not elems or len(elems) > MAX_HINT_ELEMENTS:
        return []
    parts = [f"|{var}| == {len(elems)}"] + [f"{var}[{n}] == ({e})" for n, e in enumerate(elems)]
    return [f"assert {' && '.join(parts)};"]


def array_hints(var: str, new_expr: str) -> list[str]:
    """`assert var.Length == 3 && var[0] == (4) && ...;` for `new T[3][4, 9, 2]` or `new T[] [4, 9, 2]`: the
    verifier then has the element terms its quantifiers need. [] when the elements are not a display."""
    toks = tokenize(new_expr)
    # new T [ n ] [ elems ]  (T may be generic: skip to the first `[` at depth 0)
    i = next((j for j, t in enumerate(toks) if t.kind == OP and t.text == "["), -1)
    if i < 0:
        return []
    j = _close(toks, i)
    if j < 0 or j + 1 >= len(toks) or toks[j + 1].text != "[":
        return []
    k = _close(toks, j + 1)
    if k != len(toks) - 1:
        return []
    elems = _split_top(toks[j + 2:k], new_expr) if k > j + 2 else []
    if elems is None or len(elems) > MAX_HINT_ELEMENTS:
        return []
    parts = [f"{var}.Length == {len(elems)}"] + [f"{var}[{n}] == ({e})" for n, e in enumerate(elems)]
    return [f"assert {' && '.join(parts)};"]


def is_int_literal(text: str) -> int | None:
    toks = tokenize(text)
    neg = len(toks) == 2 and toks[0].text == "-"
    t = toks[-1] if toks else None
    if t is None or t.kind != NUMBER or len(toks) != (2 if neg else 1) or not t.text.replace("_", "").isdigit():
        return None
    v = int(t.text.replace("_", ""))
    return -v if neg else v


def is_string_literal(text: str) -> bool:
    toks = tokenize(text)
    return len(toks) == 1 and toks[0].kind == STRING


def other_values(type_: tuple, value: str, limit: int = 6) -> list[str]:
    """Values of `type_` other than `value` (both Dafny text), to try as witnesses that a contract admits an
    output other than the expected one. Each is checked by the verifier, so a wrong guess costs only a query."""
    name = type_[0]
    out: list[str] = []
    if name in ("int", "nat") or name.startswith("bv"):
        v = is_int_literal(value)
        if v is None:
            out = [f"({value}) + 1", f"({value}) - 1"]
        else:
            for w in (v + 1, v - 1, 0, -v, v + 2, 2 * v + 1, 1):
                if w != v and (w >= 0 or name != "nat") and str(w) not in out:
                    out.append(str(w))
    elif name == "bool":
        out = {"true": ["false"], "false": ["true"]}.get(value.strip(), [f"!({value})"])
    elif name == "real":
        out = [f"({value}) + 1.0", f"({value}) - 1.0", "0.0"]
    elif name == "char":
        out = [c for c in ("'a'", "'0'", "' '", "'z'") if c != value.strip()]
    elif name == "seq":
        elem = type_[1] if len(type_) > 1 else ("int",)
        if is_string_literal(value) and "\\" not in value:
            body = value.strip()[1:-1]
            cands = ["", body[:-1], body[1:], body + body[:1] or "a", body[::-1]]
            out = [f'"{c}"' for c in cands if c != body]
        else:
            elems = split_elements(value)
            if elems is not None and value.strip().startswith("["):
                cands = [[], elems[:-1], elems[1:], elems + elems[:1], elems[::-1]]
                if elem and elem[0] in ("int", "nat") and elems:
                    last = is_int_literal(elems[-1])
                    cands.append(elems[:-1] + [str(last + 1) if last is not None else f"({elems[-1]}) + 1"])
                out = ["[" + ", ".join(c) + "]" for c in cands if c != elems]
            else:
                out = ["[]"]
    elif name == "tuple":
        elems = split_elements(value)
        if elems is not None and len(elems) == len(type_) - 1:
            for n, (t, e) in enumerate(zip(type_[1:], elems)):
                for w in other_values(t, e, 2):
                    out.append("(" + ", ".join(elems[:n] + [w] + elems[n + 1:]) + ")")
    seen: list[str] = []
    for w in out:
        if w not in seen and w.strip() != value.strip():
            seen.append(w)
    return seen[:limit]


_INTS = ("0", "1", "2", "3", "-1", "5", "10", "-4")
_NATS = ("0", "1", "2", "3", "5", "10")
_SEQS = ([], ["1"], ["1", "2", "3"], ["3", "1", "2"], ["2", "2"], ["5", "-1", "4", "0"], ["1", "2", "3", "4", "5"])
_NSEQS = ([], ["1"], ["1", "2", "3"], ["3", "1", "2"], ["2", "2"], ["0", "4", "7", "1"], ["1", "2", "3", "4", "5"])
_STRINGS = ('""', '"a"', '"ab"', '"aba"', '"abc"', '"Hello World"', '"a1b2"')


def sample_values(type_: tuple) -> list[str] | None:
    """A few small values of `type_` as Dafny expressions (`new ...` for arrays), or None for a type this does
    not generate (type parameters, user types, maps, functions...)."""
    name, args = type_[0], type_[1:]
    if name == "int":
        return list(_INTS)
    if name == "nat":
        return list(_NATS)
    if name == "bool":
        return ["true", "false"]
    if name == "char":
        return ["'a'", "'b'", "'z'", "'A'", "'0'", "' '"]
    if name == "real":
        return ["0.0", "1.5", "-2.0", "3.0"]
    if name == "seq" and args == (("char",),):
        return list(_STRINGS)
    if name in ("seq", "array") and len(args) == 1:
        elem = args[0]
        if elem[0] in ("int", "nat"):
            rows = _NSEQS if elem[0] == "nat" else _SEQS
            if name == "seq":
                return ["[" + ", ".join(r) + "]" if r else "[]" for r in rows]
            return [f"new {elem[0]}[{len(r)}][{', '.join(r)}]" if r else f"new {elem[0]}[0]" for r in rows]
        inner = sample_values(elem)
        if inner is None or elem[0] in ("array",):
            return None
        rows2 = [[], inner[:1], inner[:2], inner[1:3], inner[:3]]
        if name == "seq":
            return ["[" + ", ".join(r) + "]" if r else "[]" for r in rows2]
        tname = _type_text(elem)
        if tname is None:
            return None
        return [f"new {tname}[{len(r)}][{', '.join(r)}]" if r else f"new {tname}[0]" for r in rows2]
    if name == "set" and len(args) == 1 and args[0][0] in ("int", "nat"):
        return ["{}", "{1}", "{1, 2, 3}", "{0, 5}"]
    return None


def _type_text(t: tuple) -> str | None:
    if t[0] == "seq" and t[1:] == (("char",),):
        return "string"
    if t[0] in ("int", "nat", "bool", "char", "real"):
        return t[0]
    return None


def generated_inputs(params: list[tuple[str, tuple]], limit: int = 12) -> list[list[str]]:
    """Argument lists for a member with these (name, type) parameters: each parameter over its samples with the
    others at their first interesting sample, then a few diagonals; [] when some type has no samples."""
    pools = []
    for _, t in params:
        vals = sample_values(t)
        if not vals:
            return []
        pools.append(vals)
    if not pools:
        return [[]]
    base = [p[min(2, len(p) - 1)] for p in pools]
    out: list[list[str]] = [list(base)]
    for i, pool in enumerate(pools):
        for v in pool:
            row = list(base)
            row[i] = v
            if row not in out:
                out.append(row)
    for k in range(max(len(p) for p in pools)):
        row = [p[k % len(p)] for p in pools]
        if row not in out:
            out.append(row)
    if len(out) <= limit:
        return out
    step = len(out) / limit
    return [out[int(i * step)] for i in range(limit)]
