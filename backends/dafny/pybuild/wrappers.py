"""Python source of the package: plain-Python wrappers, datatype classes, contract tables.

Layout (PKG is the package name, every Dafny module M is the subpackage PKG.M):
  PKG/__init__.py       wrappers of the default module, its datatype classes, ContractViolation, named modules
  PKG/M/__init__.py     the same for module M (nested modules nest)
  PKG/_types.py         the registry: datatype classes of every module, subset-type checks
  PKG/_qed.py           converters and errors (backends/dafny/pybuild/convert.py, verbatim)
  PKG/_dafny_gen/       Dafny's own translation and its vendored runtime

Generated wrappers call nothing but `_R` (the registry), `_qed` and the compiled code, so a Dafny member called
`list` or `sum` cannot shadow anything they use.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field

from backends.dafny.pybuild.contracts import Helper
from backends.dafny.pybuild.dtypes import show
from backends.dafny.pybuild.genpy import GenModule, module_file, py_name, sanitize
from backends.dafny.pybuild.interface import Datatype, Interface, Member
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
class Plan:
    """Everything the writer needs, decided before any file is written."""

    pkg: str
    wrapped: list[Wrapped]
    skipped: list[str]
    dts: list[tuple[Datatype, str, list[tuple]]]  # datatype, internal id, ctors (name, gen class, fields)
    checks: list[tuple[str, str, tuple, str | None, str, str]]  # key, name, base, gen fn, module file, constraint
    consts: list[tuple[tuple[str, ...], str, str, tuple]]  # module, py name, gen name, type


def plan(api: Interface, members: list[Member], helpers: list[Helper], gen: dict[str, GenModule], pkg: str,
         main_target: str | None) -> Plan:
    skipped = list(api.skipped)
    by_owner: dict[str, list[Helper]] = {}
    for h in helpers:
        by_owner.setdefault(h.owner, []).append(h)
    dts = []
    for i, dt in enumerate(api.datatypes):
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
            ctors.append((c.name, gcls, fields))
        if not ok:
            skipped.append(f"datatype {key(dt.module, dt.name)}: constructors not found in Dafny's Python output")
            continue
        dts.append((dt, f"_dt{i}", ctors))
    bad_dts = {key(dt.module, dt.name) for dt in api.datatypes} - {key(d.module, d.name) for d, _, _ in dts}
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
    return Plan(pkg, wrapped, skipped, dts, checks, consts)


def _dt_keys(t: tuple) -> set[str]:
    out = {t[1]} if t[0] == "dt" else set()
    for a in t[1:]:
        if isinstance(a, tuple):
            out |= _dt_keys(a)
    return out


# ------------------------------------------------------------------------------------------------ sources

def types_source(p: Plan, gen_modules: list[str]) -> str:
    pkg = p.pkg
    lines = [
        '"""Datatype classes and subset-type checks of this package (generated by qed build)."""',
        "",
        f"from {pkg} import _qed",
        f"from {pkg}.{GEN} import _dafny as _rt",
    ]
    for g in gen_modules:
        lines.append(f"from {pkg}.{GEN} import {g} as _g_{g}")
    lines += ["", "REG = _qed.Registry(_rt)", ""]
    for dt, ident, ctors in p.dts:
        pubmod = ".".join((pkg, *dt.module))
        doc = f"Dafny datatype {dt.name}" + (f"<{', '.join(dt.type_params)}>" if dt.type_params else "") + ": " + \
              " | ".join(f"{c}({', '.join(f[0] for f in fs)})" for c, _, fs in ctors) + "."
        lines.append(f"{ident} = _qed.datatype_base({dt.name!r}, {doc!r})")
        lines.append(f"{ident}.__module__ = {pubmod!r}")
        for j, (cname, _gcls, fields) in enumerate(ctors):
            fnames = tuple(f[0] for f in fields)
            cdoc = f"{dt.name}.{cname}(" + ", ".join(f"{f[0]}: {pyhint(f[2])}" for f in fields) + ")"
            lines.append(f"{ident}_{j} = _qed.ctor_class({cname!r}, {ident}, {fnames!r}, {cdoc!r})")
            lines.append(f"{ident}_{j}.__module__ = {pubmod!r}")
            if cname != dt.name:
                lines.append(f"setattr({ident}, {cname!r}, {ident}_{j})")
        gmod = f"_g_{module_file(dt.module)}"
        entries = ", ".join(f"({ident}_{j}, {gmod}.{gcls}, {tuple(fields)!r})"
                            for j, (_, gcls, fields) in enumerate(ctors))
        lines.append(f"REG.add_datatype({key(dt.module, dt.name)!r}, {ident}, {tuple(dt.type_params)!r}, [{entries}])")
        lines.append("")
    for k, name, base, fn, gfile, constraint in p.checks:
        fexpr = f"_g_{gfile}.default__.{fn}" if fn else "None"
        lines.append(f"REG.add_check({k!r}, {name!r}, {base!r}, {fexpr}, {constraint!r})")
    return "\n".join(lines).rstrip() + "\n"


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


def _wrapper_source(w: Wrapped, gmod: str, description: str | None) -> list[str]:
    m = w.member
    qual = m.qualified
    if w.is_main:
        if w.params:
            (_, pn, pt), = w.params[:1]
            sig = f"{pn}=None"
            conv = f"_R.to_dafny({pn} if {pn} is not None else [], {pt!r}, {qual + ': parameter ' + pn!r})"
        else:
            sig, conv = "", "_rt.SeqWithoutIsStrInference([])"
        body = [
            f"def {w.pyname}({sig}):",
            docstring(_member_doc(w, description) + "\n\nPrints what `dafny run` prints for the program "
                      "(a halt prints `[Program halted] ...` and raises ProgramHalted).", "    "),
            "    try:",
            f"        {gmod}.default__.{w.gen_name}({conv})",
            "    except _rt.HaltException as _e:",
            '        _rt.print("[Program halted] " + _e.message + "\\n")',
            "        raise _qed.ProgramHalted(str(_e.message)) from None",
            "",
        ]
        return body
    sig = ", ".join(pn for _, pn, _ in w.params)
    lines = [f"def {w.pyname}({sig}):", docstring(_member_doc(w, description), "    ")]
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
            lines.append(f"    _qed.require({gmod}.default__.{w.pre_gen[h.name]}(*_a), {qual!r}, {h.clause!r}, {shown})")
    lines += [
        "    try:",
        f"        _r = {gmod}.default__.{w.gen_name}(*_a)",
        "    except _rt.HaltException as _e:",
        "        raise _qed.ProgramHalted(str(_e.message)) from None",
    ]
    for i, (dn, pn, t) in enumerate(w.params):
        if dn in m.modifies and t[0] in ("array", "array2"):
            lines.append(f"    _R.write_back({pn}, _a[{i}], {t!r})")
    if not w.outs:
        lines.append("    return None")
    elif len(w.outs) == 1:
        lines.append(f"    return _R.from_dafny(_r, {w.outs[0][1]!r})")
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


def module_source(p: Plan, module: tuple[str, ...], children: list[str], description: str | None,
                  title: str) -> str:
    pkg = p.pkg
    gfile = module_file(module)
    gmod = f"_g_{gfile}"
    here = [w for w in p.wrapped if w.member.module == module]
    lines = [docstring(title, ""), "", "from __future__ import annotations", ""]
    lines += [
        f"from {pkg} import _qed",
        f"from {pkg}._qed import ContractTypeError, ContractViolation, ProgramHalted",
        f"from {pkg}._types import REG as _R",
        f"from {pkg}.{GEN} import _dafny as _rt",
        f"from {pkg}.{GEN} import {gfile} as {gmod}",
    ]
    dts = [(dt, ident, ctors) for dt, ident, ctors in p.dts if dt.module == module]
    exported: list[str] = []
    if dts:
        names = []
        for dt, ident, ctors in dts:
            ctor_names = {c for c, _, _ in ctors}
            if dt.name not in ctor_names:
                names.append(f"{ident} as {pyident(dt.name)}")
                exported.append(pyident(dt.name))
            for j, (cname, _, _) in enumerate(ctors):
                names.append(f"{ident}_{j} as {pyident(cname)}")
                exported.append(pyident(cname))
        lines.append(f"from {pkg}._types import (")
        for n in names:
            lines.append(f"    {n},")
        lines.append(")")
    lines += ["", ""]
    for w in here:
        lines += _wrapper_source(w, gmod, description)
        lines.append("")
        exported.append(w.pyname)
    for mod, pn, gname, t in p.consts:
        if mod == module:
            lines.append(f"{pn} = _R.from_dafny({gmod}.default__.{gname}, {t!r})")
            exported.append(pn)
    tables = {w.pyname: contract_table(w) for w in here}
    lines.append("")
    lines.append(f"__qed_contracts__ = {tables!r}")
    lines.append("")
    for c in children:
        lines.append(f"from {'.'.join((pkg, *module))} import {c}  # noqa: E402")
        exported.append(c)
    exported += ["ContractViolation", "ContractTypeError", "ProgramHalted"]
    lines.append("")
    lines.append(f"__all__ = {sorted(set(exported))!r}")
    return "\n".join(lines).rstrip() + "\n"
