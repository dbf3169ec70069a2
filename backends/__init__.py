"""Verifier backends, one package per toolchain, each registered as a `backends.base.BackendPlugin` under the
entry-point group `qedgen.backends` (see `backends.registry`)."""
