"""A test-only backend for a toy language, registered through the `qedgen.backends` entry point of the
`qedtoy` distribution beside this folder (tests put `tests/toy_backend` on sys.path): the core reaches it only
through the registry, as it would a third-party backend. It declares one capability (contract checks) and one
command-line option (`--toy-strict`: warnings are violations too, as they always are, plus a note)."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from backends.base import (
    Backend,
    BackendConfig,
    BackendPlugin,
    CachePolicy,
    Capability,
    CheckRequest,
    CliOption,
    LanguageSpec,
    PendingCheck,
    SourceSyntax,
)
from verifier import procs
from verifier.errors import BadInput
from verifier.models import Diagnostic, FileResult, IntegrityViolation, RuleFamily, ToolchainRef, Verdict

HERE = Path(__file__).resolve().parent

TOY = LanguageSpec(
    name="toy", title="Toy", suffixes=(".toy",), toolchain="toy", prompts=HERE / "prompts" / "toy",
    syntax=SourceSyntax(fence_tags=("toy",), line_comment="#", block_comment=("(#", "#)"),
                        declaration=r"^[ \t]*(?:prove|assume)[ \t]+[A-Za-z_]\w*[ \t]*:", preamble=r"^[ \t]*sleep\b"),
)


@dataclass(frozen=True)
class ToyConfig(BackendConfig):
    strict: bool = False


class ToyPlugin(BackendPlugin):
    language = TOY
    capabilities = frozenset({Capability.contract_check})
    options = (CliOption(("--toy-strict",), "strict", is_flag=True, default=False, commands=("verify",),
                         help="Toy: add a note to every result (a test of backend-declared options)."),)

    def config(self, values=None, *, use_cache=True, cache_root=None, toolchain=None) -> ToyConfig:
        return ToyConfig(toolchain=toolchain, cache=CachePolicy(enabled=use_cache, root=cache_root),
                         strict=bool((values or {}).get("strict")))

    def create(self, config=None) -> ToyBackend:
        return ToyBackend(self, config if isinstance(config, ToyConfig) else self.config())

    def toolchain_status(self, env):
        from toolchains.report import ToolchainStatus

        return ToolchainStatus(name="toy", required_version="1.0", supported=True, found=True, version="1.0",
                               path=str(HERE / "toyverify.py"), how="bundled", ok=True)


def _names(text: str) -> dict[str, str]:
    """`prove NAME: EXPR` lines by name."""
    out = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2 and parts[0] == "prove" and ":" in parts[1]:
            name, expr = parts[1].split(":", 1)
            out[name.strip()] = expr.strip()
    return out


class ToyBackend(Backend):
    config: ToyConfig

    def toolchain(self) -> ToolchainRef:
        return ToolchainRef(name="toy", version="1.0", path=str(HERE / "toyverify.py"))

    def _begin(self, request: CheckRequest) -> ToyPending:
        try:
            source = request.file.read_text(encoding="utf-8")
        except OSError as e:
            raise BadInput(f"file {request.file} cannot be read: {e.strerror}", fix="check the path") from None
        contract = request.contract.read_text(encoding="utf-8") if request.contract is not None else None
        running = procs.start([sys.executable, str(HERE / "toyverify.py"), str(request.file)],
                              timeout=request.timeout)
        return ToyPending(self, request, source, contract, running, time.monotonic())

    def contract_problems(self, file: Path, *, timeout: float = 600.0) -> list[str]:
        text = file.read_text(encoding="utf-8")
        problems = [] if any(e == "?" for e in _names(text).values()) else ["nothing to implement (no `?`)"]
        return problems + [f"line {n}: assume" for n, l in enumerate(text.splitlines(), 1) if l.startswith("assume")]


class ToyPending(PendingCheck):
    def __init__(self, backend, request, source, contract, running, started):
        self.backend, self.request, self.source, self.contract = backend, request, source, contract
        self.running, self.started = running, started

    def cancel(self) -> None:
        self.running.kill()

    def finish(self) -> FileResult:
        proc = self.running.wait()
        shown = self.request.shown
        diags = []
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                d = json.loads(line)
                diags.append(Diagnostic(severity=d["severity"], kind=d["kind"], message=d["message"], file=shown,
                                        line=d["line"], member=d.get("member"),
                                        warning_class="escape" if d["severity"] == "warning" else None))
        violations = [IntegrityViolation(rule="TOY-E1", family=RuleFamily.escape, file=shown, line=d.line,
                                         message=d.message + ": prove it instead")
                      for d in diags if d.severity == "warning"]
        if self.contract is not None:
            have = _names(self.source)
            for name, expr in _names(self.contract).items():
                if name not in have or (expr != "?" and have[name] != expr):
                    violations.append(IntegrityViolation(rule="TOY-E0", family=RuleFamily.contract, file=shown,
                                                         message=f"`prove {name}` of the contract is missing or changed"))
        errors = [d for d in diags if d.severity == "error"]
        if proc.timed_out:
            verdict = Verdict.timeout
        elif proc.returncode not in (0, 2, 4):
            verdict = Verdict.error
        elif any(d.kind in ("parse", "resolution") for d in errors):
            verdict = Verdict.error
        elif violations:
            verdict = Verdict.rejected
        elif errors:
            verdict = Verdict.failed
        else:
            verdict = Verdict.verified if proc.returncode == 0 and "toy:" in proc.stdout else Verdict.error
        return FileResult(file=shown, verdict=verdict, diagnostics=diags, integrity=violations,
                          duration_s=round(time.monotonic() - self.started, 3), toolchain=self.backend.toolchain(),
                          command=proc.argv, exit_code=proc.returncode, verifier_crashed=verdict == Verdict.error
                          and proc.returncode not in (0, 2, 4, None),
                          note="strict" if self.backend.config.strict else None)


PLUGIN = ToyPlugin()
