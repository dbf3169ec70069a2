r"""Annotate mode, second check: does Dafny read the candidate's code as it reads the given program's?

The token guard (`annotate.py`) proves that the candidate C is the program P's text plus hint spans. Hints can
still change how Dafny reads that text: a lemma call `Hint(x)` with `lemma Hint(b: bv8)` makes P's untyped
`var x := 255` a `bv8` (so `x + 1` wraps); a `ghost var` in an inner block can shadow P's variable, out-parameter
or field (P's own assignment then updates the ghost); a ghost initialiser can call compiled code. So Dafny is
asked, once per text, with one process: `dafny translate py --no-verify --allow-warnings --rprint R -o OUT FILE`
(about 0.8 s; no .NET SDK needed). It gives two views:

* the **compiled view**: the generated Python (every `.py` file Dafny writes), parsed with `ast` (never imported
  or run) into definitions: each function or method, each class's own statements, each file's top-level
  statements, compared as `ast.dump`s without positions. Every definition of P must be in C, identical;
  C may add definitions (a new non-ghost helper function is an honest hint: Dafny 4 compiles `function`s) only
  when nothing in P's compiled code names them.
* the **resolved view**: Dafny's print of the resolved program, with the types it inferred for every local and
  bound variable (`var x: bv8 := 255;`) and the `decreases` it inferred, compared by the annotate guard's own
  rules (`check_annotation(..., resolved=True)`). This sees ghost code too, which the compiled view does not:
  a hint that changes the type of a let variable inside P's ghost function changes P's contract.

Normalisation, and why it is sound. Compiled view: positions are dropped (the `ast` attributes, and the
`file.dfy(L,C)` Dafny writes into the halt message of an `expect`), because hints move lines but never change
what a statement does; the order of definitions does not count (C's new helpers may stand anywhere); names are
compared exactly (Dafny numbers compiled locals per method and ghost locals take no number, so honest hints
leave every name in place). Both texts are translated under the same file name in private folders, so no path
reaches the output. Resolved view: `nat` is read as `int` in the declared types of variables given a value by
`:=` or none (`var m: nat := x;`, `ghost var s: set<nat> := ...`), on both sides (`nat_as_int`), and nowhere
else. The two are one type at run time with the same arithmetic; an inferred `nat` only adds a check that each
assignment stays >= 0 (and, justified by those checks, that fact afterwards), so a hint that turns an inferred
`nat` into `int` or back changes which checks the verifier makes, never a value the code computes nor what its
contract says (DafnyBench's ground truths do this in 9 of 719 programs: an invariant mentioning `m - 1` makes
Dafny infer `int`). The type of a bound variable (`set n: nat | n < b`) or of a `:|` choice is its domain and
counts, as does every other type difference (`bv8`, `real`, `ORDINAL`, newtypes, user subset types).
`assume` is read as `assert` on both sides (`assume_as_assert`): this view compares meaning, not proof
obligations (escapes are judged by the integrity guard on the text and by `dafny audit`); it lets a refinement's
`assert ...;` prove what the parent module assumed (3 DafnyBench ground truths do).

Decisions:

| P | C | outcome |
|---|---|---|
| compiles | compiles | both views compared: QED-E204 (compiled code differs), QED-E205 (C's new compiled code is named by P's code), QED-E206 (resolved reading differs) |
| compiles | resolves, does not compile | QED-E207: a hint made code uncompilable (usually a new non-ghost `function` using ghost-only constructs: make it `ghost function`) |
| resolves, does not compile | resolves | fallback: resolved view only (bodiless members, `{:extern}`, abstract types: about 7% of DafnyBench). Shadowing is then left to the token guard's QED-E203 (no hint may reuse a name P uses) and hidden calls to its QED-E202 (no method, constructor or `MoveNext` call in a hint) |
| does not resolve | - | `BadInput` (the program must resolve; `qed` checks this before annotating) |
| - | does not resolve | QED-E208 (the verifier reports the errors; the verdict is `error` anyway) |
| Dafny timed out, crashed or wrote nothing readable | | QED-E208: nothing is compared, so nothing is accepted |

P's view is cached by content (namespace `MEANING_NAMESPACE`, keyed by Dafny's full version, qed's extra
arguments, the text and its includes), so repair rounds pay only for the candidate; so is C's.
"""

from __future__ import annotations

import ast
import builtins
import copy
import difflib
import json
import keyword
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from verifier import procs
from verifier.cache import Store, digest
from verifier.errors import BadInput, ToolchainError
from verifier.models import IntegrityViolation, RuleFamily

from .runner import DEFAULT_MEMORY_MB, dafny_env, has_json_output, included_sources

#: Cache namespace of Dafny's views of one text; bump when what is stored (or how it is derived) changes.
MEANING_NAMESPACE = "dafny-meaning-v1"
_SNAPSHOT_NAME = "qed.dfy"  # both texts are translated under this name: no path reaches the output
_RUNTIME_DIRS = frozenset({"_dafny", "System_"})
_INCLUDE = re.compile(r'^\s*include\s+"', re.M)
_ERROR = re.compile(r"^(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\): Error: (?P<msg>.*)$")
_POSITION = re.compile(r"(\.dfy)\(\d+,\d+\)")
_NAT = re.compile(r"\bnat\b")
_ASSUME = re.compile(r"\bassume\b")
#: `var a: T, b: U :=` or `;` (a declaration with an initialiser or none; not `:|`, whose type is the choice's
#: domain) as Dafny prints it, one per line
_VAR_TYPES = re.compile(r"\bvar\s+((?:[\w'?#]+\s*:\s*[^:;=|\n]+?\s*,\s*)*[\w'?#]+\s*:\s*[^:;=|\n]+?)\s*(?=:=|;)")
_MAX_REPORTED = 3  # differing definitions reported one by one; the rest are counted

_WHY_CODE = ("A hint changed what the program does: it may change the type Dafny infers for a variable (passing "
             "it to a lemma or function whose parameter is a `bv8`, `real`, `char` or newtype, or a ghost "
             "variable or let with a declared type), declare a ghost variable that shadows a variable, "
             "out-parameter or field of the program (the program's own assignments then update the ghost), or "
             "call a method from a hint.")
_FIX_CODE = ("Give every hint fresh names, leave the program's variables alone (convert in the hint, "
             "`Hint(x as int)`, rather than make `x` another type), and call only lemmas from hints.")


# ------------------------------------------------------------------------------------------------- views

@dataclass
class View:
    """Dafny's reading of one text. `status`: `compiled`, `uncompilable` (resolves, cannot be compiled),
    `unresolved` (parse or resolution errors), `timeout` or `crashed` (nothing known)."""

    status: str
    units: dict[str, list[str]] = field(default_factory=dict)  # definition key -> [digest of its ast.dump, its Python]
    names: list[str] = field(default_factory=list)  # every identifier the compiled code mentions
    resolved: str | None = None  # Dafny's print of the resolved program
    errors: list[str] = field(default_factory=list)  # `line L: message`, the first few
    detail: str = ""  # why nothing is known (timeout, crash)
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "units": self.units, "names": self.names, "resolved": self.resolved,
                "errors": self.errors, "detail": self.detail}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "View":
        return cls(status=str(doc["status"]), units=dict(doc["units"]), names=list(doc["names"]),
                   resolved=doc.get("resolved"), errors=list(doc.get("errors", [])), detail=str(doc.get("detail", "")),
                   cached=True)


class _PendingView:
    """One text's view: a cache hit, or a running `dafny translate py` whose output is read on `view()`."""

    def __init__(self, install: Any, file: Path, source: str, timeout: float, store: Store | None,
                 memory_mb: int | None = None):
        self.install, self.file, self.source, self.timeout, self.store = install, file, source, timeout, store
        self.memory_mb = memory_mb
        self.key = digest(MEANING_NAMESPACE, str(getattr(install, "full_version", "")),
                          json.dumps(list(getattr(install, "extra_args", ()))), source,
                          *(part for p, text in included_sources(file.resolve(), source) for part in (str(p), text)))
        self._view: View | None = None
        self._running: procs.Running | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        hit = store.get(MEANING_NAMESPACE, self.key) if store is not None else None
        if isinstance(hit, dict):
            try:
                self._view = View.from_json(hit)
                return
            except (KeyError, TypeError, ValueError):
                pass  # an old or damaged entry: translate again
        self._start()

    def _start(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="qed-meaning-")
        root = Path(self._tmp.name)
        if _INCLUDE.search(self.source):  # translated in place (its includes are relative to it)
            target = self.file.resolve()
        else:
            target = root / "src" / _SNAPSHOT_NAME
            target.parent.mkdir()
            target.write_bytes(self.source.encode("utf-8"))
        fmt = ["--show-snippets:false"] if has_json_output(str(getattr(self.install, "version", ""))) else []
        argv = [str(self.install.path), "translate", "py", *getattr(self.install, "extra_args", ()), "--no-verify",
                "--allow-warnings", *fmt, "--use-basename-for-filename", "--rprint", str(root / "resolved.dfy"),
                "-o", str(root / "out"), str(target)]
        try:
            self._running = procs.start(argv, timeout=self.timeout, cwd=root, env=dafny_env(),
                                        rss_mb=self.memory_mb or DEFAULT_MEMORY_MB)
        except OSError as e:
            self.cancel()
            raise ToolchainError(f"cannot start Dafny at {self.install.path}: {e.strerror or e}",
                                 fix="run `qed toolchain status` and fix or reinstall Dafny") from e

    def cancel(self) -> None:
        """Kill the translation (if running) and remove its folder."""
        if self._running is not None and self._view is None:
            self._running.kill()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def view(self) -> View:
        if self._view is not None:
            return self._view
        assert self._running is not None and self._tmp is not None
        try:
            proc = self._running.wait()
            view = _read_view(proc, Path(self._tmp.name))
        finally:
            self._tmp.cleanup()
            self._tmp = None
        if self.store is not None and view.status in ("compiled", "uncompilable", "unresolved"):
            self.store.put(MEANING_NAMESPACE, self.key, view.to_json())
        self._view = view
        return view


def _read_view(proc: procs.ProcResult, root: Path) -> View:
    """What one `dafny translate py` run says (exit 0: compiled; 3: resolves but cannot be compiled; 2: parse or
    resolution errors; anything else: nothing is known)."""
    if proc.timed_out:
        return View("timeout", detail=f"Dafny did not finish translating within {proc.duration_s:.0f} s")
    if proc.killed_for_memory:
        return View("crashed", detail="Dafny went over its memory limit while translating (raise --memory-mb)")
    errors = []
    for line in proc.stdout.splitlines():
        m = _ERROR.match(line.strip())
        if m:
            errors.append(f"line {m['line']}: {m['msg']}")
    resolved_file = root / "resolved.dfy"
    resolved = resolved_file.read_text(encoding="utf-8", errors="replace") if resolved_file.is_file() else None
    if proc.returncode == 2 and errors:
        return View("unresolved", errors=errors[:5])
    if proc.returncode == 3 and resolved is not None:
        return View("uncompilable", resolved=resolved, errors=errors[:5])
    if proc.returncode != 0 or resolved is None:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        return View("crashed", detail=f"dafny translate exited with status {proc.returncode}: "
                                      f"{' / '.join(tail) or 'no output'}")
    out = root / "out-py"
    try:
        units, names = compiled_units(out)
    except (OSError, SyntaxError, ValueError) as e:
        return View("crashed", detail=f"qedgen could not read the Python Dafny generated ({e})")
    if not units:
        return View("crashed", detail="Dafny reported success but wrote no Python")
    return View("compiled", units=units, names=sorted(names), resolved=resolved)


# ---------------------------------------------------------------------------------------- compiled view

def compiled_units(folder: Path) -> tuple[dict[str, list[str]], set[str]]:
    """The definitions of the Python Dafny generated in `folder` (runtime folders excepted), keyed
    `file::Class.name`, `file::name`, `file::Class` (the class's own statements) and `file::` (the file's
    top-level statements), each as [digest of its `ast.dump` without positions (what is compared), its Python
    (what messages show)]; and every identifier the code mentions."""
    units: dict[str, list[str]] = {}
    names: set[str] = set()
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(folder)
        if rel.parts[0] in _RUNTIME_DIRS:
            continue
        tree = _Positions().visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(rel)))
        names |= _identifiers(tree)
        top: list[ast.stmt] = []
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                own: list[ast.stmt] = []
                for member in node.body:
                    if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        _add(units, f"{rel.as_posix()}::{node.name}.{member.name}", member)
                    else:
                        own.append(member)
                header = copy.copy(node)
                header.body = own
                _add(units, f"{rel.as_posix()}::{node.name}", header)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                _add(units, f"{rel.as_posix()}::{node.name}", node)
            else:
                top.append(node)
        _add(units, f"{rel.as_posix()}::", ast.Module(body=top, type_ignores=[]))
    return units, names


class _Positions(ast.NodeTransformer):
    """Blanks Dafny source positions in string constants (`expect` and other halt messages say
    `qed.dfy(69,2): ...`): hints move lines, never what a statement does."""

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        if isinstance(node.value, str) and _POSITION.search(node.value):
            return ast.copy_location(ast.Constant(_POSITION.sub(r"\1(?,?)", node.value)), node)
        return node


def _add(units: dict[str, list[str]], key: str, node: ast.AST) -> None:
    k, n = key, 1
    while k in units:  # the same name twice (a property and its setter): keep both, in order
        n += 1
        k = f"{key}#{n}"
    units[k] = [digest(ast.dump(node, annotate_fields=True, include_attributes=False)), ast.unparse(node)]


def _identifiers(tree: ast.AST) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.alias):
            out.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
            out.add(node.value)  # getattr-style references
    return out


def _leaf(key: str) -> str:
    """The name a definition is referred to by: `m.py::C.f` -> `f`, `m.py::C` -> `C`, `A_B.py::` -> `A_B`."""
    file, _, rest = key.partition("::")
    rest = rest.split("#")[0]
    if not rest:
        return Path(file).stem
    return rest.rsplit(".", 1)[-1]


# ------------------------------------------------------------------------------------------ the check

class PendingMeaning:
    """The meaning check of one candidate, started: `result()` waits and compares, `cancel()` kills it."""

    def __init__(self, program: _PendingView, candidate: _PendingView, program_file: Path, program_source: str,
                 candidate_file: Path, candidate_source: str):
        self._program, self._candidate = program, candidate
        self.program_file, self.program_source = program_file, program_source
        self.candidate_file, self.candidate_source = candidate_file, candidate_source

    def cancel(self) -> None:
        """Kill every Dafny process this check started and remove its folders."""
        self._program.cancel()
        self._candidate.cancel()

    def check_program(self) -> None:
        """Stop the candidate's side and wait for the program's alone: raises `BadInput` when the given program
        does not resolve (no candidate can be judged against it: the task is broken, not the answer)."""
        self._candidate.cancel()
        try:
            _require_resolved(self._program.view(), str(self.program_file))
        except BaseException:
            self.cancel()
            raise

    def result(self) -> list[IntegrityViolation]:
        """The violations (empty: Dafny reads the candidate's code and contract as it reads the program's).
        Raises `BadInput` when the given program itself does not resolve."""
        try:
            pv = self._program.view()
            cv = self._candidate.view()
        except BaseException:
            self.cancel()
            raise
        return compare(pv, cv, str(self.candidate_file), str(self.program_file), self.candidate_source)


def start_meaning_check(install: Any, program: Path, program_source: str, candidate: Path, candidate_source: str,
                        *, timeout: float, store: Store | None, memory_mb: int | None = None) -> PendingMeaning:
    """Start Dafny on the program (unless its view is cached) and on the candidate, at once; returns without
    waiting. `install` is a `toolchains.discovery.DafnyInstall`; `store` caches views (None: no cache);
    `memory_mb` caps each Dafny run's memory as for the verifier."""
    p = _PendingView(install, program, program_source, timeout, store, memory_mb)
    try:
        c = _PendingView(install, candidate, candidate_source, timeout, store, memory_mb)
    except BaseException:
        p.cancel()
        raise
    return PendingMeaning(p, c, program, program_source, candidate, candidate_source)


def compare(pv: View, cv: View, candidate_file: str, program_file: str,
            candidate_source: str) -> list[IntegrityViolation]:
    """Apply the decision table of this module's docstring to two views."""
    _require_resolved(pv, program_file)
    members = _Members(candidate_source)

    def bad(rule: str, message: str, member: str | None = None) -> IntegrityViolation:
        return IntegrityViolation(rule=rule, family=RuleFamily.frozen_code, message=message, file=candidate_file,
                                  line=members.line(member), member=member)

    for side, v in (("the given program", pv), ("the candidate", cv)):
        if v.status in ("timeout", "crashed"):
            return [bad("QED-E208", f"qedgen could not compare what Dafny makes of the candidate with what it makes "
                                    f"of the program: {v.detail} (on {side}). Nothing that cannot be compared is "
                                    f"accepted; check again, with a longer --timeout if Dafny ran out of time.")]
    if cv.status == "unresolved":
        first = cv.errors[0] if cv.errors else "errors"
        return [bad("QED-E208", f"Dafny does not resolve the candidate ({first}), so what it means cannot be "
                                f"compared with the program. Fix the errors Dafny reports.")]
    out: list[IntegrityViolation] = []
    if pv.status == "compiled":
        if cv.status != "compiled":
            first = cv.errors[0] if cv.errors else "no reason given"
            out.append(bad("QED-E207", f"The given program compiles, the candidate does not: Dafny says {first}. "
                                       f"A hint made code uncompilable, so what the program does cannot be "
                                       f"compared. Usually a new `function`/`predicate` uses something only ghost "
                                       f"code may use (an unbounded quantifier, `:|`, a ghost call): declare it "
                                       f"`ghost function`/`ghost predicate`."))
        else:
            out += _compare_compiled(pv, cv, bad, members)
    out += _compare_resolved(pv, cv, candidate_file, program_file, bad, {v.member for v in out if v.member})
    return out


def _require_resolved(pv: View, program_file: str) -> None:
    if pv.status == "unresolved":
        first = pv.errors[0] if pv.errors else "errors"
        raise BadInput(f"program {program_file} does not resolve ({first})",
                       fix="the program to annotate must be valid Dafny: `dafny resolve` must accept it")


def _compare_compiled(pv: View, cv: View, bad, members: "_Members") -> list[IntegrityViolation]:
    out: list[IntegrityViolation] = []
    changed = [k for k in pv.units if k not in cv.units or cv.units[k][0] != pv.units[k][0]]
    for k in changed[:_MAX_REPORTED]:
        member = members.dafny_name(k)
        name = f"`{member}`" if member else f"the generated `{k}`"
        if k not in cv.units:
            what = "is missing from the candidate's compiled code"
        else:
            what = f"differs: {_first_difference(pv.units[k][1], cv.units[k][1])}"
        out.append(bad("QED-E204", f"Dafny compiles the program's {name} differently in the candidate: its "
                                   f"compiled code {what}. {_WHY_CODE} {_FIX_CODE}", member))
    if len(changed) > _MAX_REPORTED:
        out.append(bad("QED-E204", f"{len(changed) - _MAX_REPORTED} more compiled definitions of the program differ "
                                   f"in the candidate. {_FIX_CODE}"))
    p_names = set(pv.names)
    for k in cv.units:
        if k in pv.units:
            continue
        leaf = _leaf(k)
        if leaf in p_names or (leaf.startswith("__") and leaf.endswith("__")):
            member = members.dafny_name(k)
            out.append(bad("QED-E205", f"The candidate adds compiled code `{member or k}` under a name "
                                       f"(`{leaf}`) that the program's own compiled code uses, so the program's "
                                       f"code could run it. A new helper must have a fresh name; if only proofs "
                                       f"use it, declare it `ghost`.", member))
    return out


def _compare_resolved(pv: View, cv: View, candidate_file: str, program_file: str, bad,
                      skip: set[str | None]) -> list[IntegrityViolation]:
    """Dafny's resolved prints compared by the annotate guard; members in `skip` were already reported."""
    from .annotate import check_annotation

    if pv.resolved is None or cv.resolved is None:
        return [bad("QED-E208", "Dafny wrote no resolved program, so qedgen cannot compare the types Dafny infers. "
                                "Check again; report it if it persists.")]
    try:
        # `nat` and `int` are one type at run time: a hint that makes Dafny infer `int` where it inferred `nat`
        # (or back) changes only which assignments are checked to stay >= 0, never a value (see the docstring)
        found = check_annotation(_neutral(pv.resolved), _neutral(cv.resolved), candidate_file, program_file,
                                 resolved=True)
    except BadInput as e:
        return [bad("QED-E208", f"qedgen cannot read Dafny's resolved print of the program ({e.cause}), so the "
                                f"types Dafny infers cannot be compared. Nothing that cannot be compared is "
                                f"accepted.")]
    if any(v.rule == "QED-E200" for v in found):
        return [bad("QED-E208", "qedgen cannot read Dafny's resolved print of the candidate, so the types Dafny "
                                "infers cannot be compared. Nothing that cannot be compared is accepted; write the "
                                "hints in plain Dafny 4 syntax.")]
    # only what the texts' shapes cannot show: E202 and E203 were judged on the texts themselves (and a hint the
    # reduction keeps shows up as a difference)
    found = [v for v in found if v.rule in ("QED-E201", "QED-E209", "QED-E210") and v.member not in skip]
    out = []
    for v in found[:_MAX_REPORTED]:
        where = f"`{v.member}`" if v.member else "the candidate"
        out.append(bad("QED-E206", f"Dafny reads {where} differently from the program once it has inferred types "
                                   f"(its resolved program, rule {v.rule}): {v.message}. {_WHY_CODE} {_FIX_CODE}",
                       v.member))
    if len(found) > _MAX_REPORTED:
        out.append(bad("QED-E206", f"{len(found) - _MAX_REPORTED} more places differ in Dafny's resolved reading. "
                                   f"{_FIX_CODE}"))
    return out


def _neutral(printed: str) -> str:
    return nat_as_int(assume_as_assert(printed))


def assume_as_assert(printed: str) -> str:
    """Dafny's resolved print with every `assume` read as `assert`, on both sides. The resolved view compares
    meaning (types, code), not proof obligations: escapes are the integrity guard's (on the text, and `dafny
    audit`). What this admits is a refinement's `assert ...;` proving what its parent module assumed: the
    program inherits `assume Valid();`, the candidate proves `assert Valid();` at the same place."""
    return _ASSUME.sub("assert", printed)


def nat_as_int(printed: str) -> str:
    """Dafny's resolved print with `nat` read as `int` in the declared types of variables (`var x: nat := e;`,
    `ghost var s: set<nat>;`), and nowhere else: a bound variable's or a `:|` choice's type is its domain."""
    return _VAR_TYPES.sub(lambda m: "var " + _NAT.sub("int", m.group(1)), printed)


def _first_difference(a: str, b: str) -> str:
    """The first differing line of two units' Python, program's and candidate's."""
    pa, pb = a.splitlines(), b.splitlines()
    for tag, a0, a1, b0, b1 in difflib.SequenceMatcher(a=pa, b=pb, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        left = pa[a0].strip() if a0 < a1 else "nothing"
        right = pb[b0].strip() if b0 < b1 else "nothing"
        return f"the program's line `{_cut(left)}` is `{_cut(right)}` in the candidate"
    return "the generated code differs (in a detail its printed form does not show)"


def _cut(s: str, n: int = 120) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


# ------------------------------------------------------------------ names of generated definitions

_PY_RESERVED = frozenset(keyword.kwlist) | frozenset(dir(builtins))


def py_name(name: str) -> str:
    """The Python name Dafny 4.11's Python backend gives a Dafny name (sanitising, then Python's rules)."""
    s = name.replace("_", "__").replace("'", "_k").replace("?", "_q").replace("\\", "_b").replace("#", "_h")
    if s.isdigit():
        s = "_" + s
    if s in _PY_RESERVED:
        s += "_"
    stripped = s.lstrip("_")
    s = stripped + "_" * (len(s) - len(stripped))
    if s[:1].isdigit():
        s = "d_" + s
    return s


class _Members:
    """Maps generated definitions back to the candidate's Dafny members (for messages and line numbers)."""

    def __init__(self, source: str):
        from .syntax import outline

        try:
            self._decls = [d for d in outline(source).walk() if d.is_callable or d.kind in (
                "class", "trait", "datatype", "codatatype", "newtype", "const", "var")]
        except Exception:  # names are a courtesy; the check does not depend on them
            self._decls = []

    def dafny_name(self, key: str) -> str | None:
        file, _, rest = key.partition("::")
        rest = rest.split("#")[0]
        if not rest:
            return None
        parts = rest.split(".")
        cls, leaf = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
        for d in self._decls:
            if py_name(d.name) != leaf and not (cls is None and py_name(d.name) == leaf):
                continue
            container = d.parent.name if d.parent is not None and d.parent.kind != "module" else None
            if cls is not None and cls != "default__" and (container is None or py_name(container) != cls):
                continue
            if cls == "default__" and container is not None:
                continue
            return d.qualified
        return None

    def line(self, member: str | None) -> int | None:
        if member is None:
            return None
        d = next((d for d in self._decls if d.qualified == member), None)
        return d.start_line if d is not None else None
