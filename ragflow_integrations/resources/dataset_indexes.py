"""Dataset indexes: building, watching and deleting a dataset's knowledge graph, RAPTOR tree and
mind map (part of the datasets group).

Operations: ``POST/GET/DELETE /datasets/{id}/index?type=graph|raptor|mindmap`` on RAGFlow
v0.25.1+; before, ``run_graphrag``/``trace_graphrag``/``run_raptor``/``trace_raptor`` (no mind map,
and only the knowledge graph can be deleted: a ``FeatureNotSupportedError`` names v0.25.1 for
the rest). :class:`IndexTask` is the build task; :class:`DataSetIndexes` are
``DataSet``'s index methods; the blocking wait runs the shared poll loop (``_core/waiting.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from .._core.features import ServerFeatures
from .._core.ops import FEATURES, Op, call, data_of, seg
from .._core.request import make_params
from .._core.waiting import Clock, check_wait_arguments, poll_until, progress_bar
from .._models import AsyncObject, SyncObject, _Model
from ..errors import (
    FeatureNotSupportedError,
    IndexBuildError,
    IndexTimeoutError,
    NotFoundError,
    RouteNotFoundError,
)

INDEX_KINDS = {
    "graph": "graph",
    "knowledge_graph": "graph",
    "graphrag": "graph",
    "raptor": "raptor",
    "mindmap": "mindmap",
    "mind_map": "mindmap",
}
"""Accepted ``kind`` names -> RAGFlow's index type."""
_LABELS = {"graph": "knowledge graph", "raptor": "RAPTOR tree", "mindmap": "mind map"}
_LEGACY = {"graph": "graphrag", "raptor": "raptor"}  # run_<x> / trace_<x> before v0.25.1

IndexProgressCallback = Callable[["IndexTask"], None]

# ----------------------------------------------------------------------------------------------
# objects
# ----------------------------------------------------------------------------------------------


class IndexTask(_Model):
    """The task building one index of a dataset (RAGFlow's task row).

    ``id`` is empty when the dataset has no such task (never built, or deleted); ``progress``
    runs from 0 to 1, and is -1 when the build failed (``progress_msg`` says why).
    """

    id: str = ""
    kind: str = ""
    progress: float = 0.0
    progress_msg: str | None = ""
    begin_at: Any = None
    process_duration: float | None = None
    create_time: Any = None
    update_time: Any = None

    @property
    def done(self) -> bool:
        """The index is built."""
        return bool(self.id) and self.progress >= 1

    @property
    def failed(self) -> bool:
        """The build failed (see ``progress_msg``)."""
        return bool(self.id) and self.progress < 0

    @property
    def running(self) -> bool:
        """The build is queued or running."""
        return bool(self.id) and 0 <= self.progress < 1

    @property
    def state(self) -> str:
        """``"none"``, ``"running"``, ``"done"`` or ``"failed"``."""
        if not self.id:
            return "none"
        return "done" if self.done else "failed" if self.failed else "running"


# ----------------------------------------------------------------------------------------------
# operations
# ----------------------------------------------------------------------------------------------


def index_kind(kind: Any) -> str:
    """RAGFlow's index type for ``kind``, or a ValueError listing the accepted names."""
    if isinstance(kind, str) and kind.lower() in INDEX_KINDS:
        return INDEX_KINDS[kind.lower()]
    raise ValueError(
        f"kind must be 'graph' (knowledge graph), 'raptor' or 'mindmap' (got {kind!r:.40})"
    )


def _legacy_or_refuse(features: ServerFeatures, kind: str, action: str) -> str:
    """The old routes' name for ``kind`` (``graphrag``/``raptor``), or the version error."""
    if kind in _LEGACY:
        return _LEGACY[kind]
    raise features.unsupported("index_route", f"{action} a {_LABELS[kind]}")


def _request(features: ServerFeatures, action: str, method: str, path: str, **kw: Any) -> Op:
    """One index request; a "no such route" answer becomes the version error."""
    try:
        return (yield call(method, path, **kw))
    except RouteNotFoundError as exc:
        if isinstance(exc, FeatureNotSupportedError):
            raise
        raise features.unsupported("index_route", action, cause=exc) from exc


def build_index(dataset_id: str, kind: str) -> Op:
    kind = index_kind(kind)
    base = f"/datasets/{seg(dataset_id)}"
    features: ServerFeatures = yield FEATURES
    action = f"building a {_LABELS[kind]}"
    if features.index_route == "index":
        route: tuple[str, dict[str, Any]] = (f"{base}/index", {"params": make_params(type=kind)})
    else:
        route = (f"{base}/run_{_legacy_or_refuse(features, kind, 'building')}", {})
    response = yield from _request(features, action, "POST", route[0], **route[1])
    data = data_of(response)
    data = data if isinstance(data, Mapping) else {}
    task_id = next(
        (str(data[k]) for k in ("task_id", f"{_LEGACY.get(kind, kind)}_task_id") if data.get(k)),
        "",
    )
    return IndexTask(id=task_id, kind=kind)


def index_status(dataset_id: str, kind: str) -> Op:
    kind = index_kind(kind)
    base = f"/datasets/{seg(dataset_id)}"
    features: ServerFeatures = yield FEATURES
    action = f"reading the {_LABELS[kind]} build"
    if features.index_route == "index":
        route: tuple[str, dict[str, Any]] = (f"{base}/index", {"params": make_params(type=kind)})
    else:
        route = (f"{base}/trace_{_legacy_or_refuse(features, kind, 'reading')}", {})
    response = yield from _request(features, action, "GET", route[0], **route[1])
    data = data_of(response)
    if not isinstance(data, Mapping) or not data.get("id"):
        return IndexTask(kind=kind)
    return IndexTask.model_validate({**data, "kind": kind})


def delete_index(dataset_id: str, kind: str) -> Op:
    kind = index_kind(kind)
    base = f"/datasets/{seg(dataset_id)}"
    features: ServerFeatures = yield FEATURES
    action = f"deleting a {_LABELS[kind]}"
    if features.index_route == "index" and features.index_delete_query:
        route: tuple[str, dict[str, Any]] = (f"{base}/index", {"params": make_params(type=kind)})
    elif features.index_route == "index":
        route = (f"{base}/{kind}", {})
    elif kind == "graph":
        route = (features.graph_path.format(dataset_id=seg(dataset_id)), {})
    else:
        raise features.unsupported("index_route", action)
    yield from _request(features, action, "DELETE", route[0], **route[1])


def wait_for_index(
    dataset_id: str,
    kind: str,
    *,
    timeout: float = 3600.0,
    poll_interval: float = 2.0,
    show_progress: bool = False,
    on_progress: IndexProgressCallback | None = None,
    clock: Clock = time.monotonic,
) -> Op:
    """Poll the build until it is done; :class:`IndexBuildError` when it failed or vanished,
    :class:`IndexTimeoutError` at the deadline (the build goes on), NotFoundError when there is
    no build to wait for."""
    kind = index_kind(kind)
    check_wait_arguments(timeout, poll_interval)
    label = _LABELS[kind]
    first: IndexTask = yield from index_status(dataset_id, kind)
    if not first.id:
        raise NotFoundError(
            f"Dataset {dataset_id} has no {label} build to wait for: start one with "
            f"dataset.build_index({kind!r})"
        )
    bar = progress_bar(100, label[:1].upper() + label[1:], "%") if show_progress else None
    pending_first = [first]  # the first poll is the status read above

    def poll() -> Op:
        if pending_first:
            return pending_first.pop()
        return (yield from index_status(dataset_id, kind))

    def report(task: IndexTask) -> None:
        if bar is not None:
            bar.n = round(max(0.0, min(task.progress, 1.0)) * 100)
            bar.refresh()
        if on_progress is not None:
            on_progress(task)

    try:
        task, finished = yield from poll_until(
            poll,
            lambda t: not t.running,
            timeout=timeout,
            poll_interval=poll_interval,
            on_result=report,
            clock=clock,
        )
    finally:
        if bar is not None:
            bar.close()
    if not finished:
        raise IndexTimeoutError(
            f"The {label} of dataset {dataset_id} is still building after {timeout:g} s "
            f"({task.progress:.0%}); it goes on on the server: wait again, or delete_index("
            f"{kind!r}) to stop it.",
            task=task,
            timeout=timeout,
        )
    if task.failed:
        raise IndexBuildError(
            f"Building the {label} of dataset {dataset_id} failed: "
            f"{_last_line(task.progress_msg) or 'no message'}",
            task=task,
        )
    if not task.done:
        raise IndexBuildError(
            f"The {label} build of dataset {dataset_id} is gone (deleted or cancelled)",
            task=task,
        )
    return task


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


# ----------------------------------------------------------------------------------------------
# DataSet's index methods
# ----------------------------------------------------------------------------------------------


class DataSetIndexes(SyncObject):
    """``DataSet``'s index methods: build, status, wait, delete (``kind``: ``"graph"``,
    ``"raptor"`` or ``"mindmap"``)."""

    def build_index(self, kind: str) -> IndexTask:
        """Start building the dataset's knowledge graph, RAPTOR tree or mind map (returns at
        once; the server refuses while a build of that kind runs)."""
        task: IndexTask = self._c._run(build_index(self.id, kind))
        return task

    def index_status(self, kind: str) -> IndexTask:
        """The build task of ``kind`` (``state`` is ``"none"`` when there is none)."""
        task: IndexTask = self._c._run(index_status(self.id, kind))
        return task

    def wait_for_index(
        self,
        kind: str,
        *,
        timeout: float = 3600.0,
        poll_interval: float = 2.0,
        show_progress: bool = False,
        on_progress: IndexProgressCallback | None = None,
    ) -> IndexTask:
        """Block until the build of ``kind`` is done (progress bar with ``show_progress``);
        raises IndexBuildError / IndexTimeoutError."""
        task: IndexTask = self._c._run(
            wait_for_index(
                self.id,
                kind,
                timeout=timeout,
                poll_interval=poll_interval,
                show_progress=show_progress,
                on_progress=on_progress,
            )
        )
        return task

    def delete_index(self, kind: str) -> None:
        """Stop a running build of ``kind`` and delete what it built."""
        self._c._run(delete_index(self.id, kind))


class AsyncDataSetIndexes(AsyncObject):
    """Async twin of :class:`DataSetIndexes`."""

    async def build_index(self, kind: str) -> IndexTask:
        """Start building the dataset's knowledge graph, RAPTOR tree or mind map (returns at
        once; the server refuses while a build of that kind runs)."""
        task: IndexTask = await self._c._run(build_index(self.id, kind))
        return task

    async def index_status(self, kind: str) -> IndexTask:
        """The build task of ``kind`` (``state`` is ``"none"`` when there is none)."""
        task: IndexTask = await self._c._run(index_status(self.id, kind))
        return task

    async def wait_for_index(
        self,
        kind: str,
        *,
        timeout: float = 3600.0,
        poll_interval: float = 2.0,
        show_progress: bool = False,
        on_progress: IndexProgressCallback | None = None,
    ) -> IndexTask:
        """Block until the build of ``kind`` is done (progress bar with ``show_progress``);
        raises IndexBuildError / IndexTimeoutError."""
        task: IndexTask = await self._c._run(
            wait_for_index(
                self.id,
                kind,
                timeout=timeout,
                poll_interval=poll_interval,
                show_progress=show_progress,
                on_progress=on_progress,
            )
        )
        return task

    async def delete_index(self, kind: str) -> None:
        """Stop a running build of ``kind`` and delete what it built."""
        await self._c._run(delete_index(self.id, kind))
