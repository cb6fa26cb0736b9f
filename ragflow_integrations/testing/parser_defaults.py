"""Default ``parser_config`` per chunk method, per emulated RAGFlow line, and RAGFlow's merges."""

from __future__ import annotations

import copy
from typing import Any

from .dataset_schemas import ENTITY_TYPES, OLD_RAPTOR_PROMPT, RAPTOR_PROMPT

Json = dict[str, Any]

_NO_SUMMARIES: Json = {"raptor": {"use_raptor": False}, "graphrag": {"use_graphrag": False}}
# methods whose defaults only switch RAPTOR and GraphRAG off; the others have none
_SUMMARY_OFF = ("qa", "manual", "paper", "book", "laws", "presentation")
_NO_DEFAULTS = ("tag", "resume", "table", "one", "email", "picture")


def _naive(old: bool) -> Json:
    config: Json = {
        "layout_recognize": "DeepDOC",
        "chunk_token_num": 512,
        "delimiter": "\n",
        "auto_keywords": 0,
        "auto_questions": 0,
        "html4excel": False,
        "topn_tags": 3,
    }
    if old:
        config["raptor"] = {
            "use_raptor": True,
            "prompt": OLD_RAPTOR_PROMPT,
            "max_token": 256,
            "threshold": 0.1,
            "max_cluster": 64,
            "random_seed": 0,
        }
        config["graphrag"] = {
            "use_graphrag": True,
            "entity_types": list(ENTITY_TYPES),
            "method": "light",
        }
        return config
    config["raptor"] = {
        "use_raptor": True,
        "prompt": RAPTOR_PROMPT,
        "max_token": 512,
        "clustering_threshold": 0.3,
        "clustering_ratio": 0.5,
        "max_cluster": 64,
        "random_seed": 0,
    }
    config["graphrag"] = {
        "use_graphrag": True,
        "entity_types": list(ENTITY_TYPES),
        "method": "light",
        "batch_chunk_token_size": 4096,
        "retry_attempts": 2,
        "retry_backoff_seconds": 2.0,
        "retry_backoff_max_seconds": 60.0,
        "build_subgraph_timeout_per_chunk_seconds": 300,
        "build_subgraph_min_timeout_seconds": 600,
        "merge_timeout_seconds": 180,
        "resolution_timeout_seconds": 1800,
        "community_timeout_seconds": 1800,
        "lock_acquire_timeout_seconds": 600,
    }
    config["parent_child"] = {"use_parent_child": False, "children_delimiter": "\n"}
    return config


def method_defaults(method: str | None, *, old: bool) -> Json | None:
    """The method's own defaults (None for methods that have none)."""
    method = method or "naive"
    if method == "naive":
        return _naive(old)
    if method in _SUMMARY_OFF:
        return copy.deepcopy(_NO_SUMMARIES)
    if method == "knowledge_graph":
        return {
            "chunk_token_num": 8192,
            "delimiter": "\\n" if old else "\n",
            "entity_types": ["organization", "person", "location", "event", "time"],
            **copy.deepcopy(_NO_SUMMARIES),
        }
    return None


def deep_merge(base: Json, over: Json) -> Json:
    """``over`` on top of ``base``; nested dicts merge, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parser_config_for(method: str | None, supplied: Json | None, *, old: bool) -> Json:
    """The parser_config a dataset or document gets for ``method`` and an optional config.

    v0.22 stores the method defaults merged with what was sent (``{}`` when neither exists);
    v0.27 also starts from ``table_context_size``/``image_context_size`` and flattens the
    parent-child switch into ``children_delimiter``.
    """
    defaults = method_defaults(method, old=old)
    if old:
        if not supplied:
            return defaults or {}
        return deep_merge(defaults, supplied) if defaults is not None else copy.deepcopy(supplied)
    merged: Json = {"table_context_size": 0, "image_context_size": 0}
    if defaults is not None:
        merged = deep_merge(merged, defaults)
    if supplied:
        merged = deep_merge(merged, supplied)
    parent_child = merged.get("parent_child") or {}
    if parent_child.get("use_parent_child"):
        merged["children_delimiter"] = parent_child.get("children_delimiter", "\n")
    elif parent_child:
        merged["children_delimiter"] = ""
    return merged


def update_document_config(current: Json, update: Json, *, old: bool) -> Json:
    """A document's parser_config after an update merges ``update`` into it.

    Nested dicts merge key by key; RAGFlow then drops ``raptor`` when the update did not carry
    a (truthy) one. v0.22 fails with an AssertionError when a dict meets a non-dict.
    """
    out = copy.deepcopy(current)

    def merge(into: Json, new: Json) -> None:
        for key, value in new.items():
            if key not in into:
                into[key] = copy.deepcopy(value)
            elif isinstance(value, dict):
                if not isinstance(into[key], dict):
                    if old:
                        raise AssertionError
                    into[key] = copy.deepcopy(value)
                else:
                    merge(into[key], value)
            else:
                into[key] = copy.deepcopy(value)

    merge(out, update)
    if not update.get("raptor") and out.get("raptor"):
        del out["raptor"]
    return out
