"""Wire shapes of stored objects and lookups shared by several route modules."""

from __future__ import annotations

from typing import Any

from .._util import ApiError, Json
from ._common import NICKNAME, TENANT_ID, ServerState, public_view


def dataset_view(state: ServerState, ds: Json) -> Json:
    docs = state.store.all("document", ds["id"])
    out = public_view(ds)
    out["document_count"] = len(docs)
    out["chunk_count"] = sum(int(d.get("chunk_count") or 0) for d in docs)
    out["token_num"] = sum(int(d.get("token_count") or 0) for d in docs)
    return out


def document_view(doc: Json) -> Json:
    return public_view(doc)


def find_dataset(
    state: ServerState, dataset_id: str, message: str | None = None, code: int = 102
) -> Json:
    ds = state.store.get("dataset", dataset_id)
    if ds is None:
        raise ApiError(code, message or f"You don't own the dataset {dataset_id}. ")
    return ds


def owner_fields() -> Json:
    return {"tenant_id": TENANT_ID, "created_by": TENANT_ID}


def user_label() -> dict[str, Any]:
    return {"nickname": NICKNAME, "tenant_avatar": None}
