"""The on-disk record of one synthesis run.

`RunDir` owns `<out>/<task.id>-<timestamp>/` (or a given folder) and writes:

* `transcript.jsonl`: one JSON object per event (prompt, response, extraction, candidate, verifier result,
  verdict, ...), appended and flushed line by line, so a killed run keeps everything up to its last event;
* `run.json`: what the run was asked to do (task file and its hash, model, budgets), read back by `--resume`;
* `candidates/s{sample}-r{round}<suffix>`: every extracted candidate (`contract-r{round}<suffix>` for contracts;
  the suffix is the language's, e.g. `.dfy`);
* `contract<suffix>`: the contract written in from-description mode (the user reviews, may edit, and accepts it);
* `artifact<suffix>`: the first verified candidate (only when one verified);
* `report.md`: a short human summary;
* `certificate.json`: hashes of the task, contract and artifact, the toolchain, the verdict, qed's version.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from verifier.errors import BadInput, storage_error

RUN_FILE = "run.json"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RunDir:
    """One run's folder. `RunDir.create(out, task_id)` makes a fresh timestamped folder; `RunDir(path)` uses `path`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            (self.path / "candidates").mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise storage_error("the run folder", self.path, e) from None
        self.transcript = self.path / "transcript.jsonl"
        self._seq = len(self.events())  # a resumed run continues the numbering
        try:
            self._fh = open(self.transcript, "a", encoding="utf-8")
            if self._fh.tell() > 0 and not self.transcript.read_bytes().endswith(b"\n"):
                self._fh.write("\n")  # a line cut short by a kill stays on its own line
                self._fh.flush()
        except OSError as e:
            raise storage_error("the run record", self.transcript, e) from None
        self._lock = threading.Lock()

    @classmethod
    def create(cls, out: Path, task_id: str) -> "RunDir":
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        base = Path(out) / f"{task_id}-{stamp}"
        path, n = base, 1
        while path.exists():
            n += 1
            path = base.with_name(f"{base.name}-{n}")
        return cls(path)

    @classmethod
    def open_existing(cls, path: Path) -> "RunDir":
        """An earlier run's folder (for `--resume`); BadInput if it is not one."""
        path = Path(path)
        if not (path / RUN_FILE).is_file():
            raise BadInput(f"{path} is not a qed synth run folder (no {RUN_FILE})",
                           fix="pass the folder a previous `qed synth` printed as its record")
        return cls(path)

    # --- run parameters ------------------------------------------------------------------------------

    def write_params(self, doc: dict) -> None:
        self._write(RUN_FILE, json.dumps(doc, indent=2, sort_keys=True) + "\n")

    def read_params(self) -> dict:
        try:
            doc = json.loads((self.path / RUN_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise BadInput(f"cannot read {self.path / RUN_FILE}: {e}", fix="start a new run instead") from None
        if not isinstance(doc, dict):
            raise BadInput(f"{self.path / RUN_FILE} is not a JSON object", fix="start a new run instead")
        return doc

    # --- transcript --------------------------------------------------------------------------------

    def event(self, event: str, /, **data: Any) -> dict:
        """Append one event (thread-safe; flushed at once, so a killed run keeps it)."""
        with self._lock:
            self._seq += 1
            rec = {"seq": self._seq, "event": event, "time": time.time(), **data}
            try:
                self._fh.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
                self._fh.flush()
            except OSError as e:  # a line cut short is skipped when the transcript is read back
                raise storage_error("the run record", self.transcript, e) from None
        return rec

    def events(self) -> list[dict]:
        """Every complete event recorded so far (a line cut short by a kill is skipped)."""
        out: list[dict] = []
        try:
            text = self.transcript.read_text(encoding="utf-8")
        except OSError:
            return out
        for line in text.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out

    def close(self) -> None:
        if not self._fh.closed:
            try:
                self._fh.close()
            except OSError:
                pass  # what could not be flushed was reported when it was written

    def __enter__(self) -> "RunDir":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- files -------------------------------------------------------------------------------------

    def candidate_path(self, sample: int, round_: int, suffix: str) -> Path:
        return self.path / "candidates" / f"s{sample}-r{round_}{suffix}"

    def write_candidate(self, sample: int, round_: int, code: str, suffix: str) -> Path:
        return self._write(self.candidate_path(sample, round_, suffix).relative_to(self.path), code)

    def contract_candidate_path(self, round_: int, suffix: str) -> Path:
        return self.path / "candidates" / f"contract-r{round_}{suffix}"

    def contract_path(self, suffix: str) -> Path:
        return self.path / f"contract{suffix}"

    def write_artifact(self, candidate: Path, suffix: str) -> Path:
        return self._write(f"artifact{suffix}", candidate.read_bytes().decode("utf-8"))

    def write_certificate(self, doc: dict) -> Path:
        return self._write("certificate.json", json.dumps(doc, indent=2, sort_keys=True) + "\n")

    def write_report(self, text: str) -> Path:
        return self._write("report.md", text)

    def write_text(self, rel: str | Path, text: str) -> Path:
        """Write a file of the run (e.g. a contract) whole or not at all."""
        return self._write(rel, text)

    def _write(self, rel: str | Path, text: str) -> Path:
        """Write `text` to `rel` in the run folder atomically (a temporary file, then a rename): a reader never sees
        half a file, and a full disk leaves the previous version in place."""
        target = self.path / rel
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        try:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            os.replace(tmp, target)
        except OSError as e:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise storage_error("the run record", target, e) from None
        return target
