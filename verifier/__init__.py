"""qedgen core: models, orchestration and the `qed` command."""

__version__ = "0.1.0"

#: Version of `qed verify --json`'s document (2: integrity violations carry `family`, results `checked_by`).
SCHEMA_VERSION = 2
