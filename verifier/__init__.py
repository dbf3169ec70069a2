"""qedgen core: models, orchestration and the `qed` command."""

__version__ = "0.1.0"
