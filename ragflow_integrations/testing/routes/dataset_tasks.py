"""Dataset-wide builds: knowledge graph (§3.7), RAPTOR and mind map.

v0.27 serves ``POST/GET/DELETE /datasets/{id}/index?type=graph|raptor|mindmap|…`` and
``DELETE /datasets/{id}/{type}``, plus the deprecated v0.22 routes (``run_graphrag``,
``trace_raptor``…) answered in ``get_json_result`` style. The stand-in has no LLM: a build is a
RAGFlow task row that runs for a moment and finishes with nothing extracted, so its status and
progress have RAGFlow's shape while the graph stays empty.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._util import ApiError, Json, http_date, json_result, new_id, now_ms, result
from ._common import ServerState, endpoint, state_of

VALID_INDEX_TYPES = (
    "graph",
    "raptor",
    "mindmap",
    "wiki",
    "skill",
    "structure_graph",
    "structure_mindmap",
    "timeline",
    "session_graph",
    "session_essence",
    "structure",
)
TASK_TYPE = {"graph": "structure_graph", "mindmap": "structure_mindmap"}
TASK_FIELD = {"graph": "graphrag"}
DISPLAY = {
    "graph": "Graph",
    "raptor": "RAPTOR",
    "mindmap": "Mindmap",
    "wiki": "Wiki",
    "skill": "Skill",
    "structure_graph": "Structure Graph",
    "structure_mindmap": "Structure Mindmap",
    "timeline": "Timeline",
    "session_graph": "Session Graph",
    "session_essence": "Session Essence",
    "structure": "Structure",
}
TASK_SECONDS = 0.5  # how long a stand-in build "runs"
MAX_TASK_PAGE = 100_000_000


def _field(index_type: str) -> str:
    """The dataset column holding the task id of an index type (``graphrag_task_id``…)."""
    return f"{TASK_FIELD.get(index_type, index_type)}_task_id"


def _new_task(ds: Json, task_type: str, doc_ids: list[str], *, old: bool) -> Json:
    ms = now_ms()
    digest = hashlib.blake2b(f"{ds['id']}{task_type}{ms}".encode(), digest_size=8).hexdigest()
    return {
        "id": new_id(),
        "doc_id": doc_ids[0] if old else "graph_raptor_x",
        "from_page": MAX_TASK_PAGE,
        "to_page": MAX_TASK_PAGE,
        "task_type": task_type,
        "priority": 0,
        "begin_at": http_date(ms),
        "process_duration": 0.0,
        "progress": 0.0,
        "progress_msg": time.strftime("%H:%M:%S") + " created task " + task_type,
        "retry_count": 0,
        "digest": digest,
        "chunk_ids": "",
        "create_time": ms,
        "create_date": http_date(ms),
        "update_time": ms,
        "update_date": http_date(ms),
        "_started": time.monotonic(),
        "_doc_count": len(doc_ids),
    }


def _advance(state: ServerState, ds: Json, index_type: str, task: Json) -> None:
    """Finish a running stand-in build once its moment has passed."""
    if task["progress"] in (-1, 1, -1.0, 1.0):
        return
    elapsed = time.monotonic() - float(task.get("_started", 0))
    if elapsed < max(TASK_SECONDS, state.parse_delay):
        return
    ms = now_ms()
    task.update(
        progress=1.0,
        process_duration=round(elapsed, 3),
        update_time=ms,
        update_date=http_date(ms),
    )
    task["progress_msg"] += (
        f"\n{time.strftime('%H:%M:%S')} Task has been received."
        f"\n{time.strftime('%H:%M:%S')} {task['_doc_count']} document(s): nothing extracted "
        "(the local stand-in server has no LLM)."
        f"\n{time.strftime('%H:%M:%S')} Done"
    )
    ds[_field(index_type).replace("_task_id", "_task_finish_at")] = http_date(ms)
    state.store.put("dataset", ds)


def _task_of(state: ServerState, ds: Json, index_type: str) -> Json | None:
    task_id = ds.get(_field(index_type))
    task = (ds.get("_tasks") or {}).get(index_type)
    if not task_id or not isinstance(task, dict) or task.get("id") != task_id:
        return None
    _advance(state, ds, index_type, task)
    return task


def _public(task: Json) -> Json:
    return {k: v for k, v in task.items() if not k.startswith("_")}


def _dataset_for(state: ServerState, dataset_id: str, index_type: str) -> Json:
    """The dataset of an index request; refusals as RAGFlow's service words them (code 102)."""
    if index_type not in VALID_INDEX_TYPES:
        raise ApiError(
            102, f"Invalid index type '{index_type}'. Must be one of {sorted(VALID_INDEX_TYPES)}"
        )
    ds = state.store.get("dataset", dataset_id)
    if ds is None:
        raise ApiError(102, "no authorization")
    return ds


def run_index(state: ServerState, dataset_id: str, index_type: str) -> str:
    """Queue a build and return its task id."""
    ds = _dataset_for(state, dataset_id, index_type)
    with state.store.lock:
        task = _task_of(state, ds, index_type)
        if task is not None and task["progress"] not in (-1, 1):
            raise ApiError(
                102,
                f"Task {task['id']} in progress with status {task['progress']}. "
                f"A {DISPLAY[index_type]} Task is already running.",
            )
        docs = state.store.all("document", ds["id"])
        if not state.old:
            docs = [d for d in docs if str(d.get("status", "1")) != "0"]
        if not docs:
            raise ApiError(102, f"No documents in Dataset {ds['id']}")
        if state.old:
            kind = "graphrag" if index_type == "graph" else index_type
        else:
            kind = TASK_TYPE.get(index_type, index_type)
        task = _new_task(ds, kind, [d["id"] for d in docs], old=state.old)
        ds.setdefault("_tasks", {})[index_type] = task
        ds[_field(index_type)] = task["id"]
        state.store.put("dataset", ds)
    return str(task["id"])


def trace_index(state: ServerState, dataset_id: str, index_type: str) -> Json:
    """The task row of the dataset's latest build of that type ({} when there is none)."""
    ds = _dataset_for(state, dataset_id, index_type)
    with state.store.lock:
        task = _task_of(state, ds, index_type)
    return {} if task is None else _public(task)


def delete_index(state: ServerState, dataset_id: str, index_type: str) -> Json:
    ds = _dataset_for(state, dataset_id, index_type)
    with state.store.lock:
        (ds.get("_tasks") or {}).pop(index_type, None)
        ds[_field(index_type)] = ""
        ds[_field(index_type).replace("_task_id", "_task_finish_at")] = None
        state.store.put("dataset", ds)
    return {}


def _index_type(request: Request) -> str:
    return str(
        request.path_params.get("index_type") or request.query_params.get("type", "")
    ).lower()


# ---------------------------------------------------------------- graph
@endpoint
async def get_graph(request: Request) -> Response:
    state = state_of(request)
    if state.store.get("dataset", request.path_params["dataset_id"]) is None:
        raise ApiError(109, "No authorization." if state.old else "no authorization")
    return result({"graph": {}, "mind_map": {}})


@endpoint
async def delete_graph_old(request: Request) -> Response:
    """v0.22 ``DELETE /knowledge_graph``."""
    state = state_of(request)
    if state.store.get("dataset", request.path_params["dataset_id"]) is None:
        raise ApiError(109, "No authorization.")
    return result(True)


@endpoint
async def delete_graph_broken(request: Request) -> Response:
    """v0.27's deprecated ``DELETE /knowledge_graph`` forwards to a function that no longer
    exists, so RAGFlow answers with its generic exception envelope."""
    return JSONResponse(
        {
            "code": 100,
            "message": "AttributeError(\"module 'api.apps.restful_apis.dataset_api' has no "
            "attribute 'delete_knowledge_graph'\")",
            "data": None,
        }
    )


# ---------------------------------------------------------------- v0.27 index routes
@endpoint
async def post_index(request: Request) -> Response:
    state = state_of(request)
    return result(
        {"task_id": run_index(state, request.path_params["dataset_id"], _index_type(request))}
    )


@endpoint
async def get_index(request: Request) -> Response:
    state = state_of(request)
    return result(trace_index(state, request.path_params["dataset_id"], _index_type(request)))


@endpoint
async def remove_index(request: Request) -> Response:
    state = state_of(request)
    index_type = _index_type(request)
    if index_type not in VALID_INDEX_TYPES:
        raise ApiError(101, f"Invalid index type '{index_type}'")
    return result(delete_index(state, request.path_params["dataset_id"], index_type))


def _deprecated(action: str, index_type: str) -> Any:
    """v0.27's compatibility routes: ``get_json_result`` on success, 102 otherwise."""

    @endpoint
    async def handler(request: Request) -> Response:
        state = state_of(request)
        dataset_id = request.path_params["dataset_id"]
        if action == "run":
            return json_result({"task_id": run_index(state, dataset_id, index_type)})
        return json_result(trace_index(state, dataset_id, index_type))

    return handler


# ---------------------------------------------------------------- v0.22 routes
def _old_route(action: str, index_type: str) -> Any:
    """v0.22 ``run_graphrag``/``trace_graphrag``/``run_raptor``/``trace_raptor``."""
    name = "graphrag" if index_type == "graph" else index_type

    @endpoint
    async def handler(request: Request) -> Response:
        state = state_of(request)
        dataset_id = request.path_params["dataset_id"]
        ds = state.store.get("dataset", dataset_id)
        if ds is None:
            raise ApiError(109, "No authorization.")
        if action == "run":
            return result({f"{name}_task_id": run_index(state, dataset_id, index_type)})
        with state.store.lock:
            task = _task_of(state, ds, index_type)
        return result({} if task is None else _public(task))

    return handler


def routes(state: ServerState) -> list[Route]:
    base = "/datasets/{dataset_id}"
    if state.old:
        return [
            Route(base + "/knowledge_graph", get_graph, methods=["GET"]),
            Route(base + "/knowledge_graph", delete_graph_old, methods=["DELETE"]),
            Route(base + "/run_graphrag", _old_route("run", "graph"), methods=["POST"]),
            Route(base + "/trace_graphrag", _old_route("trace", "graph"), methods=["GET"]),
            Route(base + "/run_raptor", _old_route("run", "raptor"), methods=["POST"]),
            Route(base + "/trace_raptor", _old_route("trace", "raptor"), methods=["GET"]),
        ]
    return [
        Route(base + "/graph", get_graph, methods=["GET"]),
        Route(base + "/knowledge_graph", get_graph, methods=["GET"]),
        Route(base + "/knowledge_graph", delete_graph_broken, methods=["DELETE"]),
        Route(base + "/index", post_index, methods=["POST"]),
        Route(base + "/index", get_index, methods=["GET"]),
        Route(base + "/index", remove_index, methods=["DELETE"]),
        Route(base + "/run_graphrag", _deprecated("run", "graph"), methods=["POST"]),
        Route(base + "/trace_graphrag", _deprecated("trace", "graph"), methods=["GET"]),
        Route(base + "/run_raptor", _deprecated("run", "raptor"), methods=["POST"]),
        Route(base + "/trace_raptor", _deprecated("trace", "raptor"), methods=["GET"]),
    ]


def catch_all_routes(state: ServerState) -> list[Route]:
    """``DELETE /datasets/{id}/{index_type}`` (v0.27): registered after every other route."""
    if state.old:
        return []
    return [Route("/datasets/{dataset_id}/{index_type}", remove_index, methods=["DELETE"])]
