"""Command-line options that backends declare for themselves (`BackendPlugin.options`), added to qed's commands."""

from __future__ import annotations

import click


def backend_options(command: str):
    """Add every registered backend's own options (`BackendPlugin.options`) for `command`, like pytest's
    `pytest_addoption`. A value arrives as the keyword `<language>__<dest>`; `backend_values` collects them."""

    def add(f):
        from backends import registry

        taken: set[str] = set()
        chosen = []
        for plugin in registry.plugins().values():
            for opt in plugin.options:
                flags = {d for decl in opt.decls for d in decl.split("/") if d.startswith("-")}
                if command not in opt.commands or flags & taken:
                    continue  # a flag another backend already declared: the first registered wins
                taken |= flags
                chosen.append((plugin.language.name, opt))
        for lang, opt in reversed(chosen):  # click lists options in the order they decorate
            extra = {"type": opt.type} if opt.type is not None else {}
            f = click.option(*opt.decls, f"{lang}__{opt.dest}", default=opt.default,
                             is_flag=opt.is_flag or None, metavar=opt.metavar, help=opt.help, **extra)(f)
        return f

    return add


def backend_values(kwargs: dict) -> dict[str, dict]:
    """Pop the backends' option values out of a command's keyword arguments: language -> {dest: value}."""
    out: dict[str, dict] = {}
    for key in [k for k in kwargs if "__" in k]:
        lang, dest = key.split("__", 1)
        out.setdefault(lang, {})[dest] = kwargs.pop(key)
    return out
