"""Listing a dataset's documents (§3.2): filters, metadata conditions, paging per line."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from .._util import ApiError, Json, json_result, result
from ..metadata import filter_by_metadata, flattened_metadata, metadata_json_schema
from ._common import ServerState, endpoint, state_of
from .documents import FILE_TYPES, ROW_KEYS, RUN_CODES, RUN_NAMES, list_view, own_dataset


# ---------------------------------------------------------------- list
def _int_arg(value: str | None, default: int) -> int:
    """v0.22 converts page arguments with ``int()`` and fails like Python does."""
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ApiError(
            100, f"ValueError(\"invalid literal for int() with base 10: '{value}'\")", data=None
        ) from None


def _lenient_int(value: str | None, default: int) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return number if number >= 1 else default


def _values(request: Request, *names: str) -> list[str]:
    out: list[str] = []
    for name in names:
        for key in (name, name + "[]"):
            out.extend(v.strip() for v in request.query_params.getlist(key) if v and v.strip())
    return out


def _order(docs: list[Json], orderby: str, desc: bool) -> list[Json]:
    if orderby == "name":
        return sorted(docs, key=lambda d: d["name"], reverse=desc)
    return sorted(docs, key=lambda d: d.get(orderby) or 0, reverse=desc)


def _page(docs: list[Json], page: int, size: int) -> list[Json]:
    """peewee's ``paginate``: page 0 is page 1; a page size of 0 gives nothing."""
    start = max(page - 1, 0) * size
    return docs[start : start + size] if size > 0 else []


def _time_window(docs: list[Json], request: Request) -> list[Json]:
    low = int(request.query_params.get("create_time_from") or 0)
    high = int(request.query_params.get("create_time_to") or 0)
    return [
        d
        for d in docs
        if (not low or d.get("create_time", 0) >= low)
        and (not high or d.get("create_time", 0) <= high)
    ]


def _list_old(state: ServerState, request: Request, dataset_id: str) -> Response:
    q = request.query_params
    docs = state.store.all("document", dataset_id)
    doc_id, name = q.get("id"), q.get("name")
    if doc_id and not any(d["id"] == doc_id for d in docs):
        raise ApiError(102, f"You don't own the document {doc_id}.")
    if name and not any(d["name"] == name for d in docs):
        raise ApiError(102, f"You don't own the document {name}.")
    page, size = _int_arg(q.get("page"), 1), _int_arg(q.get("page_size"), 30)
    orderby = q.get("orderby", "create_time")
    if orderby not in ROW_KEYS:
        raise ApiError(
            100,
            f"AttributeError(\"type object 'Document' has no attribute '{orderby}'\")",
            data=None,
        )
    desc = str(q.get("desc", "true")).strip().lower() != "false"
    if doc_id:
        docs = [d for d in docs if d["id"] == doc_id]
    if name:
        docs = [d for d in docs if d["name"] == name]
    keywords = q.get("keywords", "")
    if keywords:
        docs = [d for d in docs if keywords.lower() in d["name"].lower()]
    suffixes = q.getlist("suffix")
    if suffixes:
        docs = [d for d in docs if d.get("suffix") in suffixes]
    runs = [RUN_NAMES.get(v, v) for v in q.getlist("run")]
    if runs:
        docs = [d for d in docs if RUN_NAMES.get(d.get("run", ""), "") in runs]
    total = len(docs)
    page_docs = _time_window(_page(_order(docs, orderby, desc), page, size), request)
    return result({"total": total, "docs": [list_view(d, old=True) for d in page_docs]})


def metadata_doc_filter(
    state: ServerState, request: Request, dataset_id: str
) -> tuple[list[str] | None, bool]:
    """v0.27: the ids allowed by ``metadata_condition``/``metadata`` (None: no filter) and whether
    only documents without metadata are wanted."""
    q = request.query_params
    empty_only = str(q.get("return_empty_metadata", "false")).lower() == "true"
    raw_condition = q.get("metadata_condition", "{}")
    try:
        condition = json.loads(raw_condition)
    except ValueError:
        raise ApiError(102, f"metadata_condition must be valid JSON: {raw_condition}.") from None
    try:
        simple = json.loads(q.get("metadata", "{}"))
    except ValueError:
        raise ApiError(102, "metadata must be valid JSON.") from None
    if isinstance(simple, dict) and simple.get("empty_metadata"):
        empty_only = True
        simple = {k: v for k, v in simple.items() if k != "empty_metadata"}
    if empty_only:
        return None, True
    if condition and not isinstance(condition, dict):
        raise ApiError(102, "metadata_condition must be an object.")
    if simple and not isinstance(simple, dict):
        raise ApiError(102, "metadata must be an object.")
    if not condition and not simple:
        return None, False
    metas = flattened_metadata(state.store.all("document", dataset_id))
    allowed: set[str] | None = None
    if condition:
        allowed = set(filter_by_metadata(metas, condition))
        if condition.get("conditions") and not allowed:
            return [], False
    chosen: set[str] | None = None
    for key, values in (simple or {}).items():
        if not values:
            continue
        options = values if isinstance(values, list) else [values]
        texts = [str(v) for v in options if v is not None and str(v).strip()]
        if not texts:
            continue
        ids = {i for t in texts for i in metas.get(key, {}).get(t, [])}
        chosen = ids if chosen is None else chosen & ids
        if not chosen:
            return [], False
    if chosen is not None:
        allowed = chosen if allowed is None else allowed & chosen
        if not allowed:
            return [], False
    return (None if allowed is None else list(allowed)), False


def _list_new(state: ServerState, request: Request, dataset_id: str) -> Response:
    q = request.query_params
    page = _lenient_int(q.get("page"), 1)
    size = _lenient_int(q.get("page_size"), 30)
    if size > 100:
        raise ApiError(100, "ValueError('page_size must be less than or equal to 100')", data=None)
    orderby = q.get("orderby", "create_time")
    if orderby not in ("create_time", "update_time", "name"):
        raise ApiError(101, f"invalid orderby field: {orderby}")
    desc = str(q.get("desc", "true")).strip().lower() != "false"
    types = q.getlist("types")
    bad_types = sorted({t for t in types if t not in FILE_TYPES})
    if bad_types:
        plural = "s" if len(bad_types) > 1 else ""
        raise ApiError(102, f"Invalid filter conditions: {', '.join(bad_types)} type{plural}")
    runs = [RUN_NAMES.get(s.upper(), s) for s in _values(request, "run", "run_status")]
    bad_runs = sorted({s for s in runs if s not in RUN_CODES})
    if bad_runs:
        raise ApiError(102, f"Invalid filter run status conditions: {', '.join(bad_runs)}")
    allowed, empty_only = metadata_doc_filter(state, request, dataset_id)
    docs = state.store.all("document", dataset_id)
    doc_id, name = q.get("id"), q.get("name")
    if doc_id:
        if not any(d["id"] == doc_id for d in docs):
            raise ApiError(102, f"you don't own the document {doc_id}")
        allowed = [doc_id]
    if name and not any(d["name"] == name for d in docs):
        raise ApiError(102, f"you don't own the document {name}")
    ids = q.getlist("ids")
    if len(ids) > 100:
        raise ApiError(101, "ids must contain at most 100 IDs")
    if doc_id and ids:
        raise ApiError(
            100, "ValueError('not enough values to unpack (expected 4, got 2)')", data=None
        )
    if ids:
        allowed = ids
    keywords = q.get("keywords", "")
    if keywords:
        docs = [d for d in docs if keywords.lower() in d["name"].lower()]
    if allowed is not None:
        docs = [d for d in docs if d["id"] in set(allowed)]
    if runs:
        docs = [d for d in docs if RUN_NAMES.get(d.get("run", ""), "") in runs]
    if types:
        docs = [d for d in docs if d.get("type") in types]
    suffixes = q.getlist("suffix")
    if suffixes:
        docs = [d for d in docs if d.get("suffix") in suffixes]
    if name:
        docs = [d for d in docs if d["name"] == name]
    if empty_only:
        docs = [d for d in docs if not d.get("meta_fields")]
    total = len(docs)
    page_docs = _time_window(_page(_order(docs, orderby, desc), page, size), request)
    views = [list_view(d, old=False) for d in page_docs]
    for view in views:
        if view["parser_config"].get("metadata"):
            view["parser_config"] = dict(view["parser_config"])
            view["parser_config"]["metadata"] = metadata_json_schema(
                view["parser_config"]["metadata"]
            )
    return json_result({"total": total, "docs": views})


def _filters(state: ServerState, request: Request, dataset_id: str) -> Response:
    """v0.27 ``?type=filter``: counts per suffix and run status of the matching documents."""
    q = request.query_params
    docs = state.store.all("document", dataset_id)
    keywords = q.get("keywords", "")
    if keywords:
        docs = [d for d in docs if keywords.lower() in d["name"].lower()]
    suffix: dict[str, int] = {}
    run: dict[str, int] = {}
    for d in docs:
        suffix[d.get("suffix", "")] = suffix.get(d.get("suffix", ""), 0) + 1
        code = RUN_NAMES.get(d.get("run", "UNSTART"), "0")
        run[code] = run.get(code, 0) + 1
    return json_result({"total": len(docs), "filter": {"suffix": suffix, "run_status": run}})


@endpoint
async def list_documents(request: Request) -> Response:
    state = state_of(request)
    dataset_id = request.path_params["dataset_id"]
    own_dataset(state, dataset_id, f"You don't own the dataset {dataset_id}. ")
    if state.old:
        return _list_old(state, request, dataset_id)
    if request.query_params.get("type") == "filter":
        return _filters(state, request, dataset_id)
    return _list_new(state, request, dataset_id)
