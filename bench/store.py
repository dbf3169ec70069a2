"""The run's SQLite database (`RUN_DIR/results.sqlite`, stdlib `sqlite3` in WAL mode).

One row per task x sample x round (`attempts`) plus each task's final verdict (`results`), and the run's
parameters (`meta`). A task's rows are written in one transaction, after its verdict is known: a run killed
at any moment has every finished task complete and no half-written one, and `--resume` runs only the tasks
without a `results` row (their attempts are replaced, never duplicated: the primary keys say so). Only the
driver writes; workers return outcomes.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from verifier.errors import BadInput, storage_error

from .outcome import AttemptRow, TaskOutcome

DB_NAME = "results.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (
    dataset TEXT NOT NULL, task_id TEXT NOT NULL, sample INTEGER NOT NULL, round INTEGER NOT NULL,
    outcome TEXT NOT NULL, reason TEXT, artifact TEXT, diagnostics TEXT NOT NULL, integrity TEXT NOT NULL,
    duration_s REAL NOT NULL, toolchain TEXT, tokens INTEGER NOT NULL,
    PRIMARY KEY (dataset, task_id, sample, round));
CREATE TABLE IF NOT EXISTS results (
    dataset TEXT NOT NULL, task_id TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL,
    rounds INTEGER NOT NULL, duration_s REAL NOT NULL, samples INTEGER NOT NULL, passed_samples INTEGER NOT NULL,
    pass_rounds TEXT NOT NULL, tokens INTEGER NOT NULL, cost_usd REAL, known_defect INTEGER, assumptions TEXT NOT NULL,
    artifact TEXT, toolchain TEXT, source TEXT, scripted INTEGER NOT NULL, finished_at REAL NOT NULL,
    PRIMARY KEY (dataset, task_id));
"""


class Store:
    """The database of one run folder."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / DB_NAME
        try:
            self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as e:
            raise BadInput(f"{self.path} is not a qed bench database: {e}",
                           fix="pass the folder of a `qed bench` run, or start a new run with --out") from None
        except OSError as e:
            raise storage_error("the results database", self.path, e) from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- parameters

    def set_meta(self, key: str, value: Any) -> None:
        with self._tx():
            self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def meta(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    # -- results

    def finished(self) -> set[tuple[str, str]]:
        return {(d, t) for d, t in self.conn.execute("SELECT dataset, task_id FROM results")}

    def record(self, o: TaskOutcome) -> None:
        """Write a task's attempts and verdict in one transaction (replacing rows of an unfinished earlier try)."""
        with self._tx():
            self.conn.execute("DELETE FROM attempts WHERE dataset = ? AND task_id = ?", (o.dataset, o.task_id))
            self.conn.executemany(
                "INSERT INTO attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(o.dataset, o.task_id, a.sample, a.round, a.outcome, a.reason, a.artifact, json.dumps(a.diagnostics),
                  json.dumps(a.integrity), a.duration_s, json.dumps(a.toolchain) if a.toolchain else None, a.tokens)
                 for a in o.attempts])
            self.conn.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (o.dataset, o.task_id, o.status, o.reason, o.rounds, o.duration_s, o.samples, o.passed_samples,
                 json.dumps(o.pass_rounds), o.tokens, o.cost_usd,
                 None if o.known_defect is None else int(o.known_defect), json.dumps(o.assumptions), o.artifact,
                 json.dumps(o.toolchain) if o.toolchain else None, o.source, o.scripted, time.time()))

    def results(self) -> list[TaskOutcome]:
        """Every finished task (attempts included), in the order they finished."""
        attempts: dict[tuple[str, str], list[AttemptRow]] = {}
        for row in self.conn.execute("SELECT * FROM attempts ORDER BY dataset, task_id, sample, round"):
            (d, t, sample, rnd, outcome, reason, artifact, diags, integ, dur, tc, tokens) = row
            attempts.setdefault((d, t), []).append(AttemptRow(
                sample=sample, round=rnd, outcome=outcome, reason=reason, artifact=artifact,
                diagnostics=json.loads(diags), integrity=json.loads(integ), duration_s=dur,
                toolchain=json.loads(tc) if tc else None, tokens=tokens))
        out = []
        for row in self.conn.execute("SELECT * FROM results ORDER BY finished_at, rowid"):
            (d, t, status, reason, rounds, dur, samples, passed, pass_rounds, tokens, cost, known, assumptions,
             artifact, tc, source, scripted, _) = row
            out.append(TaskOutcome(
                dataset=d, task_id=t, status=status, reason=reason, rounds=rounds, duration_s=dur, samples=samples,
                passed_samples=passed, pass_rounds=json.loads(pass_rounds), tokens=tokens, cost_usd=cost,
                known_defect=None if known is None else bool(known), assumptions=json.loads(assumptions),
                artifact=artifact, toolchain=json.loads(tc) if tc else None, source=source, scripted=scripted,
                attempts=attempts.get((d, t), [])))
        return out

    def _tx(self):
        return _Transaction(self.conn, self.path)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error); a full or read-only disk is a StorageError (exit 5)."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn, self.path = conn, path

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
                return
            except sqlite3.OperationalError as e:
                self.conn.execute("ROLLBACK")
                raise storage_error("the results database", self.path, OSError(28, str(e))) from None
        try:
            self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
