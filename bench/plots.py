"""The run's PNG plots (matplotlib, no display needed): success by repair round, the distribution of
verification times, and for replays the verdicts by source."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from .outcome import STATUSES, TaskOutcome


def write_plots(run_dir: Path, report: Any, outcomes: list[TaskOutcome]) -> list[str]:
    """The plots written (file names); none when matplotlib is missing (said in the list's place)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    rounds = Counter(r for o in outcomes for r in o.pass_rounds)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    xs = sorted(rounds) or [1]
    ax.bar([str(x) for x in xs], [rounds.get(x, 0) for x in xs], color="#3a7d44")
    ax.set_xlabel("repair round")
    ax.set_ylabel("passing samples")
    ax.set_title("Success by repair round")
    written.append(_save(fig, run_dir / "success_by_round.png", plt))

    times = [a.duration_s for o in outcomes for a in o.attempts if a.duration_s > 0]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(times or [0], bins=min(30, max(5, len(times) // 3 or 5)), color="#4062bb")
    ax.set_xlabel("verification time (s)")
    ax.set_ylabel("checks")
    ax.set_title(f"Verification time ({len(times)} checks)")
    written.append(_save(fig, run_dir / "verification_time.png", plt))

    if report.mode == "answers":
        by_source: dict[str, Counter] = {}
        for o in outcomes:
            by_source.setdefault(o.source or "(none)", Counter())[o.status] += 1
        sources = sorted(by_source)
        fig, ax = plt.subplots(figsize=(max(6, len(sources) * 0.8), 4))
        bottom = [0] * len(sources)
        for status in STATUSES:
            vals = [by_source[s].get(status, 0) for s in sources]
            if any(vals):
                ax.bar(sources, vals, bottom=bottom, label=status)
                bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_ylabel("tasks")
        ax.set_title("Verdicts by source")
        ax.legend(fontsize=7)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        written.append(_save(fig, run_dir / "verdicts_by_source.png", plt))
    return written


def _save(fig: Any, path: Path, plt: Any) -> str:
    fig.tight_layout()
    tmp = path.with_name(".tmp-" + path.name)
    fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    tmp.replace(path)
    return path.name
