"""Python source of the package: typed plain-Python wrappers, datatype classes, contract tables.

Layout (PKG is the package name, every Dafny module M is the subpackage PKG.M):
  PKG/__init__.py       wrappers of the default module, its datatype classes, ContractViolation, named modules
  PKG/M/__init__.py     the same for module M (nested modules nest)
  PKG/_types.py         the registry (converters' datatype table, subset-type checks) and Dafny's runtime
  PKG/_qed.py           converters and errors (backends/dafny/pybuild/convert.py, verbatim)
  PKG/_dafny_gen/       Dafny's own translation and its vendored runtime (untyped; marked `# type: ignore`)
  PKG/py.typed          PEP 561: the annotations are the package's types

Every public function and class carries PEP 484 annotations (`pytypes.py`); datatype constructors are frozen
dataclasses. Dafny's generated code is reached through names typed `Any` (`_g`, `_rt`), so the modules are
clean under `mypy --strict` and pyright's strict mode. Generated wrappers call nothing but `_R` (the
registry), `_qed` and the compiled code, so a Dafny member called `list` or `sum` cannot shadow anything they
use; an annotation whose name a member shadows is written through a private module alias.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from backends.dafny.pybuild.contracts import Helper
from backends.dafny.pybuild.dtypes import show
from backends.dafny.pybuild.genpy import GenModule, module_file, py_name, sanitize
from backends.dafny.pybuild.interface import Datatype, Interface, Member
from backends.dafny.pybuild.pytypes import DatatypeRef, Spelling, annotation, returns
from backends.dafny.pybuild.resolve import key, pyhint, resolve

GEN = "_dafny_gen"


def docstring(text: str, indent: str) -> str:
    body = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = body.splitlines()
    out = [f'{indent}"""{lines[0] if lines else ""}']
    out += [f"{indent}{ln}" if ln.strip() else "" for ln in lines[1:]]
    out.append(f'{indent}"""')
    return "\n".join(out)


def pyident(name: str) -> str:
    """A Dafny name as a Python identifier (only Python keywords change)."""
    n = name.replace("'", "_k").replace("?", "_q")
    if n.startswith("#"):
        n = "_" + n[1:]
    if n[:1].isdigit():  # a field may be named `0`
        n = "_" + n
    return n + "_" if keyword.iskeyword(n) else n


@dataclass
class Wrapped:
    member: Member
    pyname: str
    gen_name: str  # name in default__
    params: list[tuple[str, str, tuple]]  # (dafny name, python name, canonical type) of compiled params
    outs: list[tuple[str, tuple]]  # compiled results
    pre: list[Helper]  # in clause order; helper.ok and gen name resolved
    pre_gen: dict[str, str]  # helper name -> python name in default__
    post: list[Helper]
    is_main: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class CtorPlan:
    """One datatype constructor: a frozen dataclass named `pyname`."""

    name: str  # Dafny's name
    gen: str  # Dafny's Python class
    fields: list[tuple[str, str, tuple]]  # (Python field, Dafny's attribute, canonical type)
    pyname: str = ""


@dataclass
class DtPlan:
    """One datatype: a base class (or, for one constructor of the datatype's name, that constructor's class)."""

    dt: Datatype
    ctors: list[CtorPlan]
    base: str = ""  # Python name of the base class

    @property
    def key(self) -> str:
        return key(self.dt.module, self.dt.name)

    @property
    def single(self) -> bool:
        """The only constructor carries the datatype's name: one class is both (`datatype Pair = Pair(..)`)."""
        return len(self.ctors) == 1 and self.ctors[0].name == self.dt.name

    def typevars(self) -> dict[str, str]:
        return {t: typevar(t) for t in self.dt.type_params}


@dataclass
class Plan:
    """Everything the writer needs, decided before any file is written."""

    pkg: str
    wrapped: list[Wrapped]
    skipped: list[str]
    dts: list[DtPlan]
    checks: list[tuple[str, str, tuple, str | None, str, str]]  # key, name, base, gen fn, module file, constraint
    consts: list[tuple[tuple[str, ...], str, str, tuple]]  # module, py name, gen name, type
    children: dict[tuple[str, ...], list[str]] = field(default_factory=dict)  # module -> its named submodules

    def datatype_refs(self) -> dict[str, DatatypeRef]:
        return {d.key: DatatypeRef(d.dt.module, d.base, len(d.dt.type_params)) for d in self.dts}


def typevar(name: str) -> str:
    """The TypeVar of a datatype's type parameter (covariant: datatype values are immutable)."""
    return f"_{pyident(name)}_co"


ERRORS = ("ContractTypeError", "ContractViolation", "ProgramHalted")


def _name_classes(p: Plan, modules: list[tuple[str, ...]]) -> None:
    """Python names of the datatype classes. Dafny lets two datatypes of a module share a constructor name and
    a constructor share a function's name; the later class then becomes `Datatype_Ctor`."""
    for mod in modules:
        taken = {w.pyname for w in p.wrapped if w.member.module == mod}
        taken |= {c[1] for c in p.consts if c[0] == mod} | set(p.children.get(mod, [])) | set(ERRORS)
        for d in (d for d in p.dts if d.dt.module == mod):
            if d.single:
                d.base = d.ctors[0].pyname = _free(pyident(d.dt.name), taken)
                continue
            own = any(c.name == d.dt.name for c in d.ctors)
            d.base = "_" + pyident(d.dt.name) if own else _free(pyident(d.dt.name), taken)
            for c in d.ctors:
                first = pyident(c.name)
                c.pyname = _free(first if first not in taken else pyident(f"{d.dt.name}_{c.name}"), taken)


def _free(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def plan(api: Interface, members: list[Member], helpers: list[Helper], gen: dict[str, GenModule], pkg: str,
         main_target: str | None) -> Plan:
    """Decide what is wrapped and how it is named; what cannot be offered goes to `skipped` with the reason."""
    skipped = list(api.skipped)
    by_owner: dict[str, list[Helper]] = {}
    for h in helpers:
        by_owner.setdefault(h.owner, []).append(h)
    dts: list[DtPlan] = []
    for dt in api.datatypes:
        if dt.co:
            skipped.append(f"codatatype {key(dt.module, dt.name)}: its values can be infinite, so they are not "
                           "converted to Python")
            continue
        gm = gen.get(module_file(dt.module))
        ctors = []
        ok = gm is not None
        for c in dt.ctors:
            cands = [f"{sanitize(dt.name)}_{sanitize(c.name)}", f"{py_name(dt.name)}_{py_name(c.name)}",
                     py_name(f"{sanitize(dt.name)}_{sanitize(c.name)}")]
            gcls = next((g for g in cands if gm and g in gm.classes), "")
            if not gcls:
                ok = False
                break
            gfields = gm.classes[gcls] or []
            comp = [f for f in c.fields if not f.ghost]
            if len(gfields) != len(comp):
                ok = False
                break
            tv = frozenset(dt.type_params)
            fields = [(pyident(f.name), g, resolve(f.type, api, dt.module, tv)) for f, g in zip(comp, gfields)]
            ctors.append(CtorPlan(c.name, gcls, fields))
        if not ok:
            skipped.append(f"datatype {key(dt.module, dt.name)}: constructors not found in Dafny's Python output")
            continue
        dts.append(DtPlan(dt, ctors))
    bad_dts = {key(dt.module, dt.name) for dt in api.datatypes} - {d.key for d in dts}
    wrapped: list[Wrapped] = []
    for m in members:
        gm = gen.get(module_file(m.module))
        if gm is None:
            skipped.append(f"{m.kind} {m.qualified}: Dafny wrote no Python module for {'.'.join(m.module) or 'it'}")
            continue
        gname = gm.find_def(m.name)
        if gname is None:
            skipped.append(f"{m.kind} {m.qualified}: not found in Dafny's Python output")
            continue
        tv = frozenset(m.type_params)
        params = [(p.name, pyident(p.name), resolve(p.type, api, m.module, tv)) for p in m.params if not p.ghost]
        outs = [(p.name, resolve(p.type, api, m.module, tv)) for p in m.outs if not p.ghost]
        is_main = m.name == "Main" and main_target is not None and \
            main_target == f"{module_file(m.module)}.default__.{gname}"
        bad = [f"{n}: {t[1]}" for n, _, t in params if t[0] == "unsupported"] + \
              [f"{n}: {t[1]}" for n, t in outs if t[0] == "unsupported"]
        if bad:
            skipped.append(f"{m.kind} {m.qualified}: types not available from Python ({'; '.join(bad)})")
            continue
        used = {k for _, _, t in params for k in _dt_keys(t)} | {k for _, t in outs for k in _dt_keys(t)}
        missing = sorted(used & bad_dts)
        if missing:
            skipped.append(f"{m.kind} {m.qualified}: uses datatype(s) not available from Python: {', '.join(missing)}")
            continue
        expected = len(params) + (1 if is_main and not params else 0)
        if len(gm.defs[gname]) != expected:
            skipped.append(f"{m.kind} {m.qualified}: compiled with {len(gm.defs[gname])} arguments, expected "
                           f"{expected} (type descriptors are not supported)")
            continue
        pre, pre_gen, post = [], {}, []
        for h in by_owner.get(m.qualified, []):
            if h.purpose == "pre":
                if h.ok:
                    hn = gm.find_def(h.name)
                    if hn is None or len(gm.defs[hn]) != len(params):
                        h.reason = "not found in Dafny's output with the member's parameters"
                    else:
                        pre_gen[h.name] = hn
                pre.append(h)
            elif h.purpose == "post":
                if h.ok and gm.find_def(h.name) is None:
                    h.reason = "not found in Dafny's output"
                post.append(h)
        pyname = pyident(m.name)
        wrapped.append(Wrapped(m, pyname, gname, params, outs, pre, pre_gen, post, is_main))
    checks = []
    for h in helpers:
        if h.purpose != "is":
            continue
        nt = next(t for t in api.types if key(t.module, t.name) == h.owner)
        gm = gen.get(module_file(nt.module))
        fn = gm.find_def(h.name) if (gm and h.ok) else None
        if h.ok and fn is None:
            h.reason = "not found in Dafny's output"
        base = resolve(nt.base, api, nt.module)
        checks.append((h.owner, nt.name, base, fn, module_file(nt.module), h.clause))
    for nt in api.types:  # subset types whose constraint has no predicate at all (none written)
        k = key(nt.module, nt.name)
        if nt.kind in ("subset", "newtype") and nt.base is not None and not any(c[0] == k for c in checks):
            checks.append((k, nt.name, resolve(nt.base, api, nt.module), None, module_file(nt.module),
                           nt.constraint or ""))
    consts = []
    for c in api.consts:
        gm = gen.get(module_file(c.module))
        gname = gm.find_const(c.name) if gm else None
        if gname is None:
            continue
        t = resolve(c.type, api, c.module) if c.type else ("any",)
        if t[0] == "unsupported":
            continue
        consts.append((c.module, pyident(c.name), gname, t))
    children: dict[tuple[str, ...], list[str]] = {m: [] for m in api.modules}
    for m in api.modules:
        if m:
            children.setdefault(m[:-1], []).append(m[-1])
    p = Plan(pkg, wrapped, skipped, dts, checks, consts, {m: sorted(c) for m, c in children.items()})
    _name_classes(p, api.modules)
    return p


def _dt_keys(t: tuple) -> set[str]:
    out = {t[1]} if t[0] == "dt" else set()
    for a in t[1:]:
        if isinstance(a, tuple):
            out |= _dt_keys(a)
    return out


# ------------------------------------------------------------------------------------------------ sources

def types_source(p: Plan) -> str:
    """PKG/_types.py: Dafny's runtime, the registry and the subset-type checks (datatypes register themselves
    in their own modules)."""
    pkg = p.pkg
    gfiles = sorted({gfile for _, _, _, fn, gfile, _ in p.checks if fn})
    lines = ['"""The registry of this package: Dafny\'s runtime, the converters\' datatype table and the subset-type '
             'checks\n(generated by qed build)."""', "", "from __future__ import annotations", "",
             "from typing import Any", "", f"from {pkg} import _qed", f"from {pkg}.{GEN} import _dafny"]
    lines += [f"from {pkg}.{GEN} import {g} as _gen_{g}" for g in gfiles]
    lines += ["", "# Dafny's runtime and generated code are untyped: they are reached through names typed Any.",
              "RT: Any = _dafny", "REG = _qed.Registry(RT)"]
    lines += [f"_g_{g}: Any = _gen_{g}" for g in gfiles]
    if p.checks:
        lines.append("")
    for k, name, base, fn, gfile, constraint in p.checks:
        fexpr = f"_g_{gfile}.default__.{fn}" if fn else "None"
        lines.append(f"REG.add_check({k!r}, {name!r}, {base!r}, {fexpr}, {constraint!r})")
    return "\n".join(lines).rstrip() + "\n"


def _datatype_source(d: DtPlan, sp: Spelling) -> list[str]:
    """The classes of one datatype: a base class and a frozen dataclass per constructor (or one dataclass)."""
    dt = d.dt
    tvars = d.typevars()
    generic = f"{sp.name('Generic')}[{', '.join(tvars.values())}]" if tvars else ""
    params = f"[{', '.join(tvars.values())}]" if tvars else ""
    doc = f"Dafny datatype {dt.name}" + (f"<{', '.join(dt.type_params)}>" if dt.type_params else "") + ": " + \
        " | ".join(f"{c.name}({', '.join(f[0] for f in c.fields)})" for c in d.ctors) + "."
    deco = "@_dataclass(frozen=True, eq=False, slots=True)"
    lines: list[str] = []
    bases = ", ".join(b for b in ("_qed.DatatypeValue", generic) if b)
    if d.single:
        c = d.ctors[0]
        lines += [deco, f"class {d.base}({bases}):", docstring(doc, "    ")]
        lines += _fields_source(c, sp, tvars)
        return lines + ["", ""]
    field_names = {f[0] for c in d.ctors for f in c.fields}
    lines += [f"class {d.base}({bases}):", docstring(doc, "    "), "", "    __slots__ = ()"]
    anyargs = f"[{', '.join([sp.name('Any')] * len(tvars))}]" if tvars else ""
    for c in d.ctors:
        if pyident(c.name) not in field_names:
            lines.append(f"    {pyident(c.name)}: {sp.name('ClassVar')}[{sp.name('type')}[{c.pyname}{anyargs}]]")
    lines += ["", ""]
    for c in d.ctors:
        cdoc = f"{dt.name}.{c.name}(" + ", ".join(f"{f[0]}: {pyhint(f[2])}" for f in c.fields) + ")"
        lines += [deco, f"class {c.pyname}({d.base}{params}):", docstring(cdoc, "    ")]
        lines += _fields_source(c, sp, tvars)
        lines += ["", ""]
    for c in d.ctors:
        if pyident(c.name) not in field_names:
            lines.append(f"{d.base}.{pyident(c.name)} = {c.pyname}")
    return lines + ["", ""]


def _fields_source(c: CtorPlan, sp: Spelling, tvars: dict[str, str]) -> list[str]:
    if not c.fields:
        return []
    return [""] + [f"    {name}: {annotation(t, sp, tvars)}" for name, _, t in c.fields]


def _register_source(d: DtPlan) -> str:
    entries = ", ".join(f"({c.pyname}, _g.{c.gen}, {tuple(c.fields)!r})" for c in d.ctors)
    return f"_R.add_datatype({d.key!r}, {d.base}, {tuple(d.dt.type_params)!r}, [{entries}])"


def _member_doc(w: Wrapped, description: str | None) -> str:
    m = w.member
    sig = ", ".join(f"{n}: {pyhint(t)}" for _, n, t in w.params)
    ret = "None"
    if len(w.outs) == 1:
        ret = pyhint(w.outs[0][1])
    elif len(w.outs) > 1:
        ret = "tuple[" + ", ".join(pyhint(t) for _, t in w.outs) + "]"
    parts = []
    if description:
        parts += [description.strip(), ""]
    dsig = ", ".join(f"{p.name}: {show(p.type)}" for p in m.params)
    if m.kind == "method":
        douts = ", ".join(f"{p.name}: {show(p.type)}" for p in m.outs)
        head = f"Dafny: method {m.name}({dsig})" + (f" returns ({douts})" if douts else "")
    else:
        res = f"({m.outs[0].name}: {show(m.outs[0].type)})" if m.result_named and m.outs else \
            (show(m.outs[0].type) if m.outs else "bool")
        head = f"Dafny: {m.kind} {m.name}({dsig}): {res}"
    parts.append(head)
    parts.append(f"Python: {w.pyname}({sig}) -> {ret}")
    if m.modifies:
        parts.append("Modifies (the new contents are written back into the list you pass): "
                     + ", ".join(m.modifies))
    if m.requires:
        parts += ["", "Requires (checked before the call; a violation raises ContractViolation):"]
        for h in w.pre:
            mark = "" if h.name in w.pre_gen else "  [not checked at run time: " + (h.reason or "?") + "]"
            parts.append(f"  requires {h.clause}{mark}")
    if m.ensures:
        parts += ["", "Ensures (proved by Dafny for every call that meets the requirements):"]
        for c in m.ensures:
            parts.append(f"  ensures {c}")
    return "\n".join(parts)


def _wrapper_source(w: Wrapped, sp: Spelling, description: str | None) -> list[str]:
    m = w.member
    qual = m.qualified
    if w.is_main:
        if w.params:
            (_, pn, pt), = w.params[:1]
            sig = f"{pn}: {sp.name('Optional')}[{annotation(pt, sp)}] = None"
            conv = f"_R.to_dafny({pn} if {pn} is not None else [], {pt!r}, {qual + ': parameter ' + pn!r})"
        else:
            sig, conv = "", "_rt.SeqWithoutIsStrInference([])"
        return [
            f"def {w.pyname}({sig}) -> None:",
            docstring(_member_doc(w, description) + "\n\nPrints what `dafny run` prints for the program "
                      "(a halt prints `[Program halted] ...` and raises ProgramHalted).", "    "),
            "    try:",
            f"        _g.default__.{w.gen_name}({conv})",
            "    except _rt.HaltException as _e:",
            '        _rt.print("[Program halted] " + _e.message + "\\n")',
            "        raise _qed.ProgramHalted(str(_e.message)) from None",
            "",
        ]
    sig = ", ".join(f"{pn}: {annotation(t, sp)}" for _, pn, t in w.params)
    ret = returns([t for _, t in w.outs], sp)
    lines = [f"def {w.pyname}({sig}) -> {ret}:", docstring(_member_doc(w, description), "    ")]
    for dn, pn, t in w.params:
        if dn in m.modifies and t[0] in ("array", "array2"):
            lines.append(f"    _R.mutable({pn}, {qual + ': parameter ' + dn!r})")
    if w.params:
        lines.append("    _a = (")
        for dn, pn, t in w.params:
            lines.append(f"        _R.to_dafny({pn}, {t!r}, {qual + ': parameter ' + dn!r}),")
        lines.append("    )")
    else:
        lines.append("    _a = ()")
    shown = "{" + ", ".join(f"{dn!r}: {pn}" for dn, pn, _ in w.params) + "}"
    for h in w.pre:
        if h.name in w.pre_gen:
            lines.append(f"    _qed.require(_g.default__.{w.pre_gen[h.name]}(*_a), {qual!r}, {h.clause!r}, {shown})")
    lines += [
        "    try:",
        f"        _r = _g.default__.{w.gen_name}(*_a)",
        "    except _rt.HaltException as _e:",
        "        raise _qed.ProgramHalted(str(_e.message)) from None",
    ]
    for i, (dn, pn, t) in enumerate(w.params):
        if dn in m.modifies and t[0] in ("array", "array2"):
            lines.append(f"    _R.write_back({pn}, _a[{i}], {t!r})")
    if not w.outs:
        lines.append("    return None")
    elif len(w.outs) == 1:  # through a typed local: the converters return Any
        lines.append(f"    _out: {ret} = _R.from_dafny(_r, {w.outs[0][1]!r})")
        lines.append("    return _out")
    else:
        items = ", ".join(f"_R.from_dafny(_r[{i}], {t!r})" for i, (_, t) in enumerate(w.outs))
        lines.append(f"    return ({items})")
    lines.append("")
    return lines


_IDENTITY = ("an array inside another value: Python copies it, so Dafny's comparison of arrays by identity "
             "cannot be reproduced")


def _nested_array(t: tuple, inside: bool = False) -> bool:
    if t[0] in ("array", "array2") and inside:
        return True
    return any(isinstance(a, tuple) and _nested_array(a, True) for a in t[1:])


def contract_table(w: Wrapped) -> dict:
    """What the generated property tests need about one member (plain data)."""
    m = w.member
    snaps = [i for i, (dn, _, t) in enumerate(w.params)
             if dn in m.modifies and t[0] == "array" and t[1] != ("any",)]  # `a: array` has no snapshot
    nested = any(_nested_array(t) for _, _, t in w.params) or any(_nested_array(t) for _, t in w.outs)
    return {
        "name": w.pyname,
        "dafny": m.qualified,
        "gen": module_file(m.module),
        "kind": m.kind,
        "params": [(dn, pn, t) for dn, pn, t in w.params],
        "outs": [(n, t) for n, t in w.outs],
        "result_named": m.result_named,
        "modifies": snaps,
        "pre": [(h.index, h.clause, w.pre_gen.get(h.name), h.reason or None) for h in w.pre],
        "post": [(h.index, h.clause, None, _IDENTITY) if nested and h.ok else
                 (h.index, h.clause, py_name(h.name) if h.ok else None, h.reason or None) for h in w.post],
    }


def module_source(p: Plan, module: tuple[str, ...], description: str | None, title: str) -> str:
    """PKG/[M/]__init__.py: the typed wrappers, datatype classes and constants of Dafny module `module`."""
    pkg = p.pkg
    here = [w for w in p.wrapped if w.member.module == module]
    dts = [d for d in p.dts if d.dt.module == module]
    consts = [c for c in p.consts if c[0] == module]
    children = p.children.get(module, [])
    taken = {w.pyname for w in here} | {c[1] for c in consts} | set(children) | set(ERRORS)
    for d in dts:  # class names, and field names (a field called `list` would shadow it in the class body)
        taken |= {d.base} | {c.pyname for c in d.ctors} | {f[0] for c in d.ctors for f in c.fields}
    sp = Spelling(pkg, module, frozenset(taken), p.datatype_refs())
    body: list[str] = []
    exported: list[str] = list(ERRORS) + list(children)
    tvars = sorted({v for d in dts for v in d.typevars().values()})
    for v in tvars:
        body.append(f"{v} = {sp.name('TypeVar')}({v!r}, covariant=True)")
    body += ["", ""] if tvars else []
    for d in dts:
        body += _datatype_source(d, sp)
        exported += [d.base] if not d.base.startswith("_") else []
        exported += [c.pyname for c in d.ctors if not d.single]
    for d in dts:
        body.append(_register_source(d))
    body += ["", ""] if dts else []
    for w in here:
        body += _wrapper_source(w, sp, description)
        body.append("")
        exported.append(w.pyname)
    for _, pn, gname, t in consts:
        body.append(f"{pn}: {annotation(t, sp)} = _R.from_dafny(_g.default__.{gname}, {t!r})")
        exported.append(pn)
    tables = {w.pyname: contract_table(w) for w in here}
    body += ["", f"__qed_contracts__: dict[str, dict[str, {sp.name('Any')}]] = {tables!r}", ""]
    for c in children:
        body.append(f"from {'.'.join((pkg, *module))} import {c}  # noqa: E402")
    body += ["", f"__all__ = {sorted(set(exported))!r}"]
    text = "\n".join(body)
    uses = {n for n in ("_qed", "_R", "_rt", "_g") if re.search(rf"\b{n}\.", text)}  # import what is used
    head = [docstring(title, ""), "", "from __future__ import annotations", ""]
    std = [ln for ln in sp.imports() if not ln.startswith(f"import {pkg}")]
    own = [ln for ln in sp.imports() if ln.startswith(f"import {pkg}")]
    if dts:
        std.append("from dataclasses import dataclass as _dataclass")
    std.sort(key=lambda ln: (ln.startswith("import "), ln))
    head += std + ([""] if std else [])
    if "_qed" in uses:
        head.append(f"from {pkg} import _qed")
    head.append(f"from {pkg}._qed import {', '.join(ERRORS)}")
    if "_R" in uses:
        head.append(f"from {pkg}._types import REG as _R")
    if "_rt" in uses:
        head.append(f"from {pkg}._types import RT as _rt")
    if "_g" in uses:
        head.append(f"from {pkg}.{GEN} import {module_file(module)} as _gen")
    head += own
    if "_g" in uses:
        head += ["", f"_g: {sp.name('Any')} = _gen  # Dafny's generated code is untyped: reached through Any"]
    return "\n".join(head + ["", ""] + body).rstrip() + "\n"
