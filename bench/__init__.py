"""`qed bench`: one runner for the public verified-code benchmarks (oracle, replay and model modes).

`bench.tasks` holds the task model (a `verifier.tasks.Task` plus what a benchmark adds), `bench.datasets` the
loaders (one module per upstream layout), `bench.store` the run's SQLite database, `bench.runner` the runs,
`bench.report` / `bench.plots` / `bench.compare` what a run leaves behind. Only `bench.datasets` names
languages; the rest reaches verifiers through the backend registry.
"""
