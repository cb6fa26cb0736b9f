"""Request models and checks of the document routes (v0.27 validates updates with pydantic)."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from ._util import ApiError, Json
from .dataset_schemas import ParserConfig

DOCUMENT_CHUNK_METHODS = frozenset(
    {
        "naive",
        "manual",
        "qa",
        "table",
        "paper",
        "book",
        "laws",
        "presentation",
        "picture",
        "one",
        "knowledge_graph",
        "email",
        "tag",
    }
)


class UpdateDocument(BaseModel):
    """v0.27's document update: strict types, unknown keys ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)

    name: Annotated[str | None, Field(default=None, max_length=65535)]
    chunk_method: Annotated[str | None, Field(default=None, max_length=65535)]
    pipeline_id: Annotated[str | None, Field(default=None, max_length=65535)]
    enabled: Annotated[int | None, Field(default=None, ge=0, le=1)]
    chunk_count: Annotated[int | None, Field(default=None, ge=0)]
    token_count: Annotated[int | None, Field(default=None, ge=0)]
    progress: Annotated[float | None, Field(default=None, ge=0.0, le=1.0)]
    parser_config: ParserConfig | None = None
    meta_fields: dict[str, Any] | None = Field(default_factory=dict)

    @field_validator("chunk_method", mode="after")
    @classmethod
    def _method(cls, value: str | None) -> str | None:
        if value and value not in DOCUMENT_CHUNK_METHODS:
            raise PydanticCustomError(
                "format_invalid",
                "`chunk_method` {chunk_method} doesn't exist",
                {"chunk_method": value},
            )
        return value

    @field_validator("meta_fields", mode="after")
    @classmethod
    def _meta(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """Values are strings or numbers, or lists of them."""
        if value is None:
            return None
        for item in value.values():
            if isinstance(item, list):
                if not all(isinstance(i, str | int | float) for i in item):
                    raise PydanticCustomError(
                        "format_invalid", "The type is not supported in list: {v}", {"v": item}
                    )
            elif not isinstance(item, str | int | float):
                raise PydanticCustomError(
                    "format_invalid", "The type is not supported: {v}", {"v": item}
                )
        return value


class DeleteDocuments(BaseModel):
    """v0.27's document delete: ids may be any strings but not repeated."""

    model_config = ConfigDict(extra="forbid", strict=True)

    ids: list[str] | None = None
    delete_all: bool = False

    @field_validator("ids", mode="after")
    @classmethod
    def _ids(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        repeated = [i for i, n in Counter(value).items() if n > 1]
        if repeated:
            raise PydanticCustomError(
                "duplicate_uuids",
                "Duplicate ids: '{duplicate_ids}'",
                {"duplicate_ids": ", ".join(repeated)},
            )
        return value


def old_update_checks(req: Json, doc: Json) -> None:
    """v0.22: the read-only counters may be sent only with their current values."""
    for key, current in (
        ("chunk_count", doc.get("chunk_count")),
        ("token_count", doc.get("token_count")),
        ("progress", doc.get("progress")),
    ):
        if key in req and req[key] != current:
            raise ApiError(102, f"Can't change `{key}`.")
