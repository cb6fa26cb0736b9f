"""Timing, figures and the machine description shared by every benchmark section.

Every figure is a ratio ``ours ÷ baseline`` measured side by side in one run: candidate and
baseline rounds alternate (ABBA order, so a slow drift of the machine hits both alike) and the
ratio is the median of the per-round ratios.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata

Round = Callable[[], float]
"""Runs one round and returns its figure (seconds per call, bytes, ...)."""


@dataclass(frozen=True)
class Size:
    """How much work each section does: ``tiny`` for the CI smoke test, ``full`` for the report."""

    name: str
    rounds: int
    calls: int
    corpus_chunks: int
    concurrency: int
    loader_small: int
    loader_large: int
    loader_latency_documents: int
    stream_rounds: int
    ingest_documents: int
    index_sizes: tuple[int, int]
    """Dataset sizes for the requests-per-insert row (small, large)."""
    import_runs: int
    server_bench: str


SIZES = {
    "tiny": Size(
        "tiny",
        rounds=3,
        calls=4,
        corpus_chunks=60,
        concurrency=64,
        loader_small=1_000,
        loader_large=3_000,
        loader_latency_documents=40,
        stream_rounds=4,
        ingest_documents=20,
        index_sizes=(100, 1_000),
        import_runs=3,
        server_bench="tiny",
    ),
    "full": Size(
        "full",
        rounds=41,
        calls=8,
        corpus_chunks=400,
        concurrency=64,
        loader_small=5_000,
        loader_large=50_000,
        loader_latency_documents=300,
        stream_rounds=15,
        ingest_documents=500,
        index_sizes=(1_000, 10_000),
        import_runs=15,
        server_bench="full",
    ),
}


@dataclass
class Row:
    """One line of the figures table."""

    key: str
    section: str
    label: str
    baseline_label: str
    unit: str
    candidate: float | None = None
    baseline: float | None = None
    ratio: float | None = None
    target: float | None = None
    note: str = ""
    check: bool | None = None
    """A non-timing acceptance check attached to the figure (None: there is none)."""
    check_label: str = ""
    """What ``check`` checks, shown in the target column."""
    unavailable: str = ""
    """Why there is no figure (the baseline could not be installed, the section failed)."""
    details: list[str] = field(default_factory=list)
    """Profile lines explaining a missed target."""

    @property
    def met(self) -> bool | None:
        """Whether the target (and the check) hold; None when the row has neither."""
        if self.check is False:
            return False
        if self.target is None or self.ratio is None:
            return self.check
        return self.ratio <= self.target


def median(values: list[float]) -> float:
    return statistics.median(values)


class PerCall:
    """A round that calls ``function`` ``calls`` times; returns wall seconds per call and keeps
    this process's CPU seconds per call in ``cpu`` (less sensitive to a busy machine)."""

    def __init__(self, function: Callable[[], object], calls: int) -> None:
        self.function, self.calls = function, calls
        self.cpu: list[float] = []

    def __call__(self) -> float:
        function = self.function
        cpu_start, start = time.process_time(), time.perf_counter()
        for _ in range(self.calls):
            function()
        wall = time.perf_counter() - start
        self.cpu.append((time.process_time() - cpu_start) / self.calls)
        return wall / self.calls


def per_call(function: Callable[[], object], calls: int) -> PerCall:
    return PerCall(function, calls)


def cpu_note(candidate: PerCall, baseline: PerCall) -> str:
    """``client CPU/call ours X ms vs Y ms`` from two measured rounds."""
    return (
        f"client CPU/call {median(candidate.cpu) * 1000:.2f} vs "
        f"{median(baseline.cpu) * 1000:.2f} ms"
    )


def interleave(
    variants: Mapping[str, Round], rounds: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Run the variants' rounds alternately (ABBA...) and collect each variant's round figures."""
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    results: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        for name in names if index % 2 == 0 else reversed(names):
            results[name].append(variants[name]())
    return results


def compare(row: Row, candidate: list[float], baseline: list[float]) -> Row:
    """Fill a row from paired round figures: medians and the median of per-round ratios."""
    row.candidate = median(candidate)
    row.baseline = median(baseline)
    row.ratio = median([c / b for c, b in zip(candidate, baseline, strict=True)])
    return row


def measure(row: Row, candidate: Round, baseline: Round, rounds: int) -> Row:
    """Interleave a candidate and a baseline and fill ``row`` with the result."""
    figures = interleave({"candidate": candidate, "baseline": baseline}, rounds)
    return compare(row, figures["candidate"], figures["baseline"])


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment() -> dict[str, str]:
    """The machine and the versions the figures were measured with."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": " / ".join(f"{value:.1f}" for value in os.getloadavg()),
        "cores": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "memory": _memory_gib(),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "ragflow-integrations": _version("ragflow-integrations"),
        "requests": _version("requests"),
        "httpx": _version("httpx"),
        "langchain-core": _version("langchain-core"),
        "llama-index-core": _version("llama-index-core"),
    }
