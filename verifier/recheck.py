"""`qed recheck CERTIFICATE.json`: reproduce a "verified" claim from a `qed synth` certificate.

The certificate names the artifact's and the contract's sha256 (and the task's, the toolchain, the verdict).
qed finds the artifact (`--artifact`, else `artifact.*` beside the certificate) and the contract (`--contract`,
else a file beside the certificate, else the task's `spec:`/`program:` from the run's `run.json`), checks that
their hashes are the certified ones, verifies the artifact again without the cache, and compares the toolchain
with the certified one. The claim is reproduced only when both hashes match and the verdict is `verified`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from backends import registry
from backends.base import CheckRequest
from verifier.errors import BadInput
from verifier.runstore import RUN_FILE, sha256_file

_REQUIRED = ("artifact_sha256", "contract_sha256", "verdict", "mode")


@dataclass
class Recheck:
    """What a recheck found (its `doc()` is the `--json` document)."""

    certificate: Path
    artifact: Path | None
    contract: Path | None
    mode: str
    hashes: dict = field(default_factory=dict)  # name -> {certified, actual, match}
    problems: list[str] = field(default_factory=list)
    toolchain: dict = field(default_factory=dict)  # certified, used, same
    result: dict | None = None

    @property
    def reproduced(self) -> bool:
        return not self.problems and self.result is not None and self.result["verdict"] == "verified"

    def doc(self) -> dict:
        return {"certificate": str(self.certificate), "artifact": str(self.artifact) if self.artifact else None,
                "contract": str(self.contract) if self.contract else None, "mode": self.mode,
                "hashes": self.hashes, "toolchain": self.toolchain, "result": self.result,
                "problems": self.problems, "reproduced": self.reproduced}


def load_certificate(path: Path) -> dict:
    """The certificate's JSON object; BadInput naming what is wrong."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"certificate {path} does not exist", fix="pass the certificate.json of a qed synth run") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise BadInput(f"cannot read certificate {path}: {e}", fix="pass the certificate.json of a qed synth run") \
            from None
    if not isinstance(doc, dict):
        raise BadInput(f"certificate {path} is not a JSON object", fix="pass the certificate.json of a qed synth run")
    missing = [k for k in _REQUIRED if not isinstance(doc.get(k), str)]
    if missing:
        raise BadInput(f"certificate {path} has no `{missing[0]}`", fix="pass the certificate.json of a qed synth run")
    return doc


def _by_hash(candidates: list[Path], sha: str) -> Path | None:
    for c in candidates:
        try:
            if c.is_file() and sha256_file(c) == sha:
                return c
        except OSError:
            continue
    return None


def _task_files(folder: Path) -> list[Path]:
    """The task's `spec:` and `program:` files, from the run's `run.json` (if it still names a readable task)."""
    try:
        params = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
        task_file = Path(params["task_file"])
        from verifier.tasks import load_task

        task = load_task(task_file)
    except Exception:  # noqa: BLE001 - a missing or changed task only means "not found here"
        return []
    return [Path(p) for p in (task.spec, task.program) if p is not None]


def recheck(certificate: Path, *, artifact: Path | None = None, contract: Path | None = None,
            timeout: float = 600.0) -> Recheck:
    """Re-verify the certified artifact (see the module docstring). BadInput when the artifact cannot be found."""
    cert = load_certificate(certificate)
    folder = certificate.resolve().parent
    suffixes = registry.suffixes(available_only=False)
    if artifact is None:
        found = sorted(p for p in folder.glob("artifact*") if any(p.name.endswith(s) for s in suffixes))
        if not found:
            raise BadInput(f"no artifact beside {certificate}", fix="pass --artifact FILE")
        artifact = _by_hash(found, cert["artifact_sha256"]) or found[0]
    if not artifact.is_file():
        raise BadInput(f"artifact {artifact} does not exist", fix="check the path")
    out = Recheck(certificate=certificate, artifact=artifact, contract=None, mode=cert["mode"])
    actual = sha256_file(artifact)
    out.hashes["artifact"] = {"certified": cert["artifact_sha256"], "actual": actual,
                              "match": actual == cert["artifact_sha256"]}
    if actual != cert["artifact_sha256"]:
        out.problems.append(f"{artifact}: sha256 {actual[:16]}... is not the certified {cert['artifact_sha256'][:16]}...")
    if contract is None:
        beside = sorted(p for p in folder.iterdir() if p.is_file() and p != artifact
                        and any(p.name.endswith(s) for s in suffixes))
        contract = _by_hash(beside + _task_files(folder), cert["contract_sha256"])
        if contract is None:
            out.problems.append("no file with the certified contract's sha256 was found beside the certificate or "
                                "in the task (pass --contract FILE)")
    if contract is not None:
        out.contract = contract
        c_actual = sha256_file(contract)
        out.hashes["contract"] = {"certified": cert["contract_sha256"], "actual": c_actual,
                                  "match": c_actual == cert["contract_sha256"]}
        if c_actual != cert["contract_sha256"]:
            out.problems.append(f"{contract}: sha256 {c_actual[:16]}... is not the certified "
                                f"{cert['contract_sha256'][:16]}...")
    plugin = registry.ensure_available(registry.plugin_for_file(artifact))
    with plugin.create(plugin.config(use_cache=False)) as backend:
        request = CheckRequest(file=artifact, timeout=timeout, display_name=str(artifact),
                               **({"program": contract} if cert["mode"] == "annotate" else {"contract": contract}))
        result = backend.check(request)
    out.result = result.model_dump(mode="json")
    certified = cert.get("toolchain") or {}
    used = out.result.get("toolchain") or {}
    out.toolchain = {"certified": certified, "used": used,
                     "same": bool(certified) and all(certified.get(k) == used.get(k) for k in ("name", "version",
                                                                                               "solver"))}
    return out


def render_recheck(r: Recheck) -> str:
    """The human report of a recheck."""
    from verifier.render import render_report, summary_of

    lines = []
    for name, h in r.hashes.items():
        lines.append(f"{name} sha256: {'matches the certificate' if h['match'] else 'DIFFERS from the certificate'}"
                     f" ({h['actual'][:16]}...)")
    for p in r.problems:
        lines.append(f"problem: {p}")
    if r.result is not None:
        lines.append(render_report({"results": [r.result], "summary": summary_of([r.result], r.result["duration_s"])}))
    tc = r.toolchain
    if tc:
        def show(t: dict) -> str:
            return f"{t.get('name', '?')} {t.get('version', '?')}" + (f" ({t['solver']})" if t.get("solver") else "")

        lines.append(f"toolchain: certified with {show(tc['certified']) if tc['certified'] else 'an unknown one'}, "
                     f"rechecked with {show(tc['used'])}" + (" (same)" if tc["same"] else " (DIFFERENT)"))
    lines.append("reproduced: the certified artifact verifies against the certified contract" if r.reproduced
                 else "NOT reproduced")
    return "\n".join(lines)
