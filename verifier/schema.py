"""The published JSON Schema of `qed verify --json` (generated from the pydantic models)."""

from __future__ import annotations

import json
from pathlib import Path

from verifier.models import VerifyReport

SCHEMA_FILE = Path(__file__).parent / "schemas" / "verify-report.schema.json"
TASK_SCHEMA_FILE = Path(__file__).parent / "schemas" / "task.schema.json"
AUDIT_SCHEMA_FILE = Path(__file__).parent / "schemas" / "audit-report.schema.json"


def report_schema() -> dict:
    schema = VerifyReport.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://qedgen.dev/schemas/verify-report.schema.json"
    return schema


def write_schema() -> None:
    from verifier.audit import audit_schema
    from verifier.tasks import task_schema

    SCHEMA_FILE.write_text(json.dumps(report_schema(), indent=2) + "\n", encoding="utf-8")
    TASK_SCHEMA_FILE.write_text(json.dumps(task_schema(), indent=2) + "\n", encoding="utf-8")
    AUDIT_SCHEMA_FILE.write_text(json.dumps(audit_schema(), indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_schema()
