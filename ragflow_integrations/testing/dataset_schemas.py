"""Request models of the dataset routes, one set per emulated RAGFlow line.

RAGFlow validates dataset requests with pydantic and reports every error as
``Field: <loc> - Message: <msg> - Value: <input>`` (code 101). Validating with pydantic here too
gives the same messages for the same rules. The v0.22 line checks ids as UUID1 and knows fewer
parser_config keys; the v0.27 line accepts any UUID, pipelines, metadata configs and more
RAPTOR/GraphRAG settings.
"""

from __future__ import annotations

import contextlib
import json
import string
import uuid
from collections import Counter
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ._util import ApiError

NAME_LIMIT = 128
OLD_RAPTOR_PROMPT = (
    "Please summarize the following paragraphs. Be careful with the numbers, do not make things "
    "up. Paragraphs as following:\n      {cluster_content}\nThe above is the content you need "
    "to summarize."
)
RAPTOR_PROMPT = (
    "Summarize the paragraphs below without inventing facts or changing numbers.\n"
    "Output exactly two parts in the same language as the source:\n"
    "1. First line: a concise title only.\n"
    "2. Following lines: a concise summary of the content.\n"
    "Do not output labels, Markdown headings, bullet points, or any other commentary.\n\n"
    "Paragraphs:\n{cluster_content}"
)
ENTITY_TYPES = ["organization", "person", "geo", "event", "category"]
CHUNK_METHODS = (
    "naive",
    "book",
    "email",
    "laws",
    "manual",
    "one",
    "paper",
    "picture",
    "presentation",
    "qa",
    "table",
    "tag",
    "resume",
)
_CHUNK_METHOD_CHOICES = (
    "Input should be " + ", ".join(f"'{m}'" for m in CHUNK_METHODS[:-1]) + " or 'resume'"
)
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
DatasetName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


def format_errors(exc: ValidationError) -> str:
    """RAGFlow's rendering of a pydantic error: one ``Field/Message/Value`` line per error."""
    lines = []
    for err in exc.errors():
        shown = str(err["input"])
        if len(shown) > 128:
            shown = shown[:125] + "..."
        loc = ".".join(map(str, err["loc"]))
        lines.append(f"Field: <{loc}> - Message: <{err['msg']}> - Value: <{shown}>")
    return "\n".join(lines)


def validated(model: type[BaseModel], payload: dict[str, Any], **dump: Any) -> dict[str, Any]:
    """The model's dump of ``payload``, or an ApiError 101 carrying RAGFlow's message."""
    try:
        obj = model(**payload)
    except ValidationError as exc:
        raise ApiError(101, format_errors(exc)) from None
    return obj.model_dump(**dump)


# ---------------------------------------------------------------- ids
def uuid1_hex(value: Any) -> str:
    """v0.22: a UUID1 (any other version or text is "Invalid UUID1 format")."""
    try:
        parsed = uuid.UUID(value) if isinstance(value, str) else value
        if parsed.version != 1:
            raise ValueError("not a version 1 UUID")
        return str(parsed.hex)
    except (AttributeError, ValueError, TypeError):
        raise PydanticCustomError("invalid_UUID1_format", "Invalid UUID1 format") from None


def uuid_hex(value: Any) -> str:
    """v0.27: any UUID, returned as 32 hex digits."""
    try:
        if isinstance(value, uuid.UUID):
            return value.hex
        if isinstance(value, str):
            return uuid.UUID(value).hex
        raise TypeError
    except (AttributeError, ValueError, TypeError):
        raise PydanticCustomError("invalid_uuid_format", "Invalid UUID format") from None


def _no_duplicates(ids: list[str]) -> list[str]:
    repeated = [item for item, n in Counter(ids).items() if n > 1]
    if repeated:
        raise PydanticCustomError(
            "duplicate_uuids",
            "Duplicate ids: '{duplicate_ids}'",
            {"duplicate_ids": ", ".join(repeated)},
        )
    return ids


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# ---------------------------------------------------------------- parser_config, v0.22
class OldRaptor(_Strict):
    use_raptor: bool = False
    prompt: Annotated[Text, Field(default=OLD_RAPTOR_PROMPT)]
    max_token: Annotated[int, Field(default=256, ge=1, le=2048)]
    threshold: Annotated[float, Field(default=0.1, ge=0.0, le=1.0)]
    max_cluster: Annotated[int, Field(default=64, ge=1, le=1024)]
    random_seed: Annotated[int, Field(default=0, ge=0)]


class OldGraphrag(_Strict):
    use_graphrag: bool = False
    entity_types: list[str] = Field(default_factory=lambda: list(ENTITY_TYPES))
    method: Literal["light", "general"] = "light"
    community: bool = False
    resolution: bool = False


class OldParserConfig(_Strict):
    auto_keywords: Annotated[int, Field(default=0, ge=0, le=32)]
    auto_questions: Annotated[int, Field(default=0, ge=0, le=10)]
    chunk_token_num: Annotated[int, Field(default=512, ge=1, le=2048)]
    delimiter: Annotated[str, Field(default="\\n", min_length=1)]
    graphrag: OldGraphrag = Field(default_factory=OldGraphrag)
    html4excel: bool = False
    layout_recognize: str = "DeepDOC"
    raptor: OldRaptor = Field(default_factory=lambda: OldRaptor.model_validate({}))
    tag_kb_ids: list[str] = Field(default_factory=list)
    topn_tags: Annotated[int, Field(default=1, ge=1, le=10)]
    filename_embd_weight: Annotated[float | None, Field(default=0.1, ge=0.0, le=1.0)]
    task_page_size: Annotated[int | None, Field(default=None, ge=1)]
    pages: list[list[int]] | None = None


# ---------------------------------------------------------------- parser_config, v0.27
class Raptor(_Strict):
    use_raptor: bool = False
    prompt: Annotated[Text, Field(default=RAPTOR_PROMPT)]
    max_token: Annotated[int, Field(default=512, ge=512, le=2048)]
    clustering_threshold: Annotated[float, Field(default=0.3, ge=0.0, le=1.0)]
    clustering_ratio: Annotated[float, Field(default=0.5, ge=0.0, le=1.0)]
    max_cluster: Annotated[int, Field(default=64, ge=1, le=1024)]
    random_seed: Annotated[int, Field(default=0, ge=0)]
    scope: Literal["file", "dataset"] = "file"
    auto_disable_for_structured_data: bool = True

    @model_validator(mode="before")
    @classmethod
    def _drop_legacy(cls, value: Any) -> Any:
        """Old settings are accepted and dropped; a too small max_token is raised to 512."""
        if not isinstance(value, dict):
            return value
        out = dict(value)
        legacy = out.pop("ext", None)
        if (
            isinstance(legacy, dict)
            and out.get("clustering_threshold") is None
            and "clustering_threshold" in legacy
        ):
            out["clustering_threshold"] = legacy["clustering_threshold"]
        for key in ("threshold", "clustering_method", "tree_builder"):
            out.pop(key, None)
        size = out.get("max_token")
        if isinstance(size, int | float) and not isinstance(size, bool) and size < 512:
            out["max_token"] = 512
        return out


def _seconds(default: int | float, low: int | float, high: int | float) -> Any:
    return Field(default=default, ge=low, le=high)


class Graphrag(_Strict):
    use_graphrag: bool = False
    entity_types: list[str] = Field(default_factory=lambda: list(ENTITY_TYPES))
    method: Literal["light", "general", "ner"] = "light"
    community: bool = False
    resolution: bool = False
    batch_chunk_token_size: Annotated[int, _seconds(4096, 512, 8196)]
    retry_attempts: Annotated[int, _seconds(2, 1, 10)]
    retry_backoff_seconds: Annotated[float, _seconds(2.0, 0.0, 600.0)]
    retry_backoff_max_seconds: Annotated[float, _seconds(60.0, 0.0, 3600.0)]
    build_subgraph_timeout_per_chunk_seconds: Annotated[int, _seconds(300, 1, 86400)]
    build_subgraph_min_timeout_seconds: Annotated[int, _seconds(600, 1, 86400)]
    merge_timeout_seconds: Annotated[int, _seconds(180, 0, 86400)]
    resolution_timeout_seconds: Annotated[int, _seconds(1800, 0, 86400)]
    community_timeout_seconds: Annotated[int, _seconds(1800, 0, 86400)]
    lock_acquire_timeout_seconds: Annotated[int, _seconds(600, 0, 86400)]


class ParentChild(_Strict):
    use_parent_child: bool = False
    children_delimiter: Annotated[str, Field(default="\n", min_length=1)]


class MetadataField(_Strict):
    key: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    type: Literal["string", "list", "time", "number"]
    description: Annotated[str | None, Field(default=None, max_length=65535)]
    enum: list[str] | None = None


class AutoMetadataConfig(_Strict):
    metadata: list[MetadataField] = Field(default_factory=list)
    built_in_metadata: list[MetadataField] = Field(default_factory=list)


class ParserConfig(_Strict):
    auto_keywords: Annotated[int, Field(default=0, ge=0, le=32)]
    auto_questions: Annotated[int, Field(default=0, ge=0, le=10)]
    chunk_token_num: Annotated[int, Field(default=512, ge=1, le=2048)]
    delimiter: Annotated[str, Field(default="\n", min_length=1)]
    graphrag: Graphrag = Field(default_factory=lambda: Graphrag.model_validate({}))
    html4excel: bool = False
    layout_recognize: str = "DeepDOC"
    parent_child: ParentChild = Field(default_factory=lambda: ParentChild.model_validate({}))
    enable_children: bool = False
    children_delimiter: Annotated[str, Field(default="", min_length=0)]
    raptor: Raptor = Field(default_factory=lambda: Raptor.model_validate({}))
    tag_kb_ids: list[str] = Field(default_factory=list)
    topn_tags: Annotated[int, Field(default=1, ge=1, le=10)]
    filename_embd_weight: Annotated[float | None, Field(default=0.1, ge=0.0, le=1.0)]
    task_page_size: Annotated[int | None, Field(default=None, ge=1)]
    pages: list[list[int]] | None = None
    compilation_template_group_id: list[str] = Field(default_factory=list)
    ext: dict[str, Any] = Field(default_factory=dict)
    table_column_mode: Literal["auto", "manual"] | None = None
    table_column_roles: dict[str, Literal["indexing", "metadata", "both"]] | None = None
    table_column_names: list[str] | None = None

    @field_validator("table_column_roles", mode="before")
    @classmethod
    def _legacy_role(cls, value: Any) -> Any:
        """The old role name ``vectorize`` means ``indexing``."""
        if not isinstance(value, dict):
            return value
        return {str(k): ("indexing" if v == "vectorize" else v) for k, v in value.items()}

    @field_validator("compilation_template_group_id", mode="before")
    @classmethod
    def _group_ids(cls, value: Any) -> Any:
        """One id or a list of ids; blanks, non-strings and repeats are dropped."""
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            return []
        kept = (i.strip() for i in items if isinstance(i, str))
        return list(dict.fromkeys(i for i in kept if i))


# ---------------------------------------------------------------- dataset requests
def _check_avatar(value: str | None, *, capital: bool) -> str | None:
    if value is None or (not capital and not value):
        return value
    if "," not in value:
        raise PydanticCustomError(
            "format_invalid",
            ("M" if capital else "m")
            + "issing MIME prefix. Expected format: data:<mime>;base64,<data>",
        )
    prefix = value.split(",", 1)[0]
    if not prefix.startswith("data:"):
        raise PydanticCustomError(
            "format_invalid",
            ("I" if capital else "i") + "nvalid MIME prefix format. Must start with 'data:'",
        )
    allowed = ["image/jpeg", "image/png"]
    if prefix[5:].split(";")[0] not in allowed:
        raise PydanticCustomError(
            "format_invalid",
            "Unsupported MIME type. Allowed: {supported_mime_types}",
            {"supported_mime_types": allowed},
        )
    return value


def _check_model_id(value: str | None, *, capital: bool, allow_hex: bool) -> str | None:
    """``<model>@<provider>`` (v0.27 also a 32-hex tenant model id)."""
    if not isinstance(value, str):
        return value
    if allow_hex and len(value) == 32 and all(c in string.hexdigits for c in value):
        return value
    first = "E" if capital else "e"
    if "@" not in value:
        raise PydanticCustomError(
            "format_invalid",
            first + "mbedding model identifier must follow <model_name>@<provider> format",
        )
    name, provider = value.split("@", 1)
    if not name or not provider:
        raise PydanticCustomError(
            "format_invalid",
            ("B" if capital else "b") + "oth model_name and provider must be non-empty strings",
        )
    if not name.strip() or not provider.strip():
        raise PydanticCustomError(
            "format_invalid", "Model name and provider cannot be whitespace-only strings"
        )
    return value


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _empty_config_is_none(value: Any) -> Any:
    return None if value == {} else value


def _config_size(value: BaseModel | None) -> BaseModel | None:
    if value is not None and len(size := value.model_dump_json()) > 65535:
        raise PydanticCustomError(
            "string_too_long",
            "Parser config exceeds size limit (max 65,535 characters). Current size: {actual}",
            {"actual": len(size)},
        )
    return value


class _DatasetFields(_Strict):
    """The fields and checks both lines share; v0.22 capitalises some messages."""

    old_messages: ClassVar[bool] = False

    name: DatasetName
    avatar: Annotated[str | None, Field(default=None, max_length=65535)]
    description: Annotated[str | None, Field(default=None, max_length=65535)]
    embedding_model: Annotated[
        str | None, Field(default=None, max_length=255, serialization_alias="embd_id")
    ]
    permission: Annotated[Literal["me", "team"], Field(default="me", min_length=1, max_length=16)]

    @field_validator("avatar", mode="after")
    @classmethod
    def _avatar(cls, value: str | None) -> str | None:
        return _check_avatar(value, capital=cls.old_messages)

    @field_validator("embedding_model", mode="before")
    @classmethod
    def _model_strip(cls, value: Any) -> Any:
        return _strip(value)

    @field_validator("embedding_model", mode="after")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        old = cls.old_messages
        return _check_model_id(value, capital=old, allow_hex=not old)

    @field_validator("parser_config", mode="before", check_fields=False)
    @classmethod
    def _config_none(cls, value: Any) -> Any:
        return _empty_config_is_none(value)

    @field_validator("parser_config", mode="after", check_fields=False)
    @classmethod
    def _config_len(cls, value: BaseModel | None) -> BaseModel | None:
        return _config_size(value)


class OldCreateDataset(_DatasetFields):
    old_messages: ClassVar[bool] = True

    chunk_method: Annotated[
        Literal[
            "naive",
            "book",
            "email",
            "laws",
            "manual",
            "one",
            "paper",
            "picture",
            "presentation",
            "qa",
            "table",
            "tag",
        ],
        Field(default="naive", min_length=1, max_length=32, serialization_alias="parser_id"),
    ]
    parser_config: OldParserConfig | None = None


class OldUpdateDataset(OldCreateDataset):
    dataset_id: str
    name: Annotated[DatasetName, Field(default="")]
    pagerank: Annotated[int, Field(default=0, ge=0, le=100)]

    @field_validator("dataset_id", mode="before")
    @classmethod
    def _dataset_id(cls, value: Any) -> str:
        return uuid1_hex(value)


class CreateDataset(_DatasetFields):
    parse_type: Annotated[int | None, Field(default=None, ge=0, le=64)]
    pipeline_id: Annotated[str | None, Field(default=None, min_length=32, max_length=32)]
    chunk_method: Annotated[str | None, Field(default=None, serialization_alias="parser_id")]
    parser_config: ParserConfig | None = None
    auto_metadata_config: AutoMetadataConfig | None = None
    ext: dict[str, Any] = Field(default_factory=dict)

    @field_validator("pipeline_id", mode="before")
    @classmethod
    def _direct_parse_drops_pipeline(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and info.data.get("parse_type", 0) == 1:
            return None
        return value

    @field_validator("pipeline_id", mode="after")
    @classmethod
    def _pipeline_hex(cls, value: str | None) -> str | None:
        if not value:
            return None
        if len(value) != 32:
            raise PydanticCustomError("format_invalid", "pipeline_id must be 32 hex characters")
        if any(ch not in string.hexdigits for ch in value):
            raise PydanticCustomError("format_invalid", "pipeline_id must be hexadecimal")
        return value.lower()

    @field_validator("chunk_method", mode="wrap")
    @classmethod
    def _chunk_method(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        try:
            out = handler(value)
        except Exception:
            raise PydanticCustomError("literal_error", _CHUNK_METHOD_CHOICES) from None
        if (not out and not info.data.get("pipeline_id")) or (out and out not in CHUNK_METHODS):
            raise PydanticCustomError("literal_error", _CHUNK_METHOD_CHOICES)
        return out

    @model_validator(mode="after")
    def _parser_or_pipeline(self) -> CreateDataset:
        """Either a chunk method, or a pipeline (parse_type and pipeline_id together)."""
        if self.chunk_method is None and "chunk_method" not in self.model_fields_set:
            if self.parse_type is None and self.pipeline_id is None:
                object.__setattr__(self, "chunk_method", "naive")
                return self
            missing = [f for f in ("parse_type", "pipeline_id") if getattr(self, f) is None]
            if missing:
                raise PydanticCustomError(
                    "dependency_error",
                    "parser_id omitted → required fields missing: {fields}",
                    {"fields": ", ".join(missing)},
                )
            return self
        if isinstance(self.chunk_method, str):
            clash = []
            if self.parse_type not in (None, 1):
                clash.append("parse_type")
            if self.pipeline_id is not None:
                clash.append("pipeline_id")
            if clash:
                raise PydanticCustomError(
                    "dependency_error",
                    "parser_id provided → disallowed fields present: {fields}",
                    {"fields": ", ".join(clash)},
                )
        return self


class UpdateDataset(CreateDataset):
    dataset_id: str
    name: Annotated[DatasetName, Field(default="")]
    pagerank: Annotated[int, Field(default=0, ge=0, le=100)]
    language: Annotated[str | None, Field(default=None, max_length=32)]
    connectors: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("dataset_id", mode="before")
    @classmethod
    def _dataset_id(cls, value: Any) -> str:
        return uuid_hex(value)


class OldDeleteDatasets(_Strict):
    ids: list[str] | None

    @field_validator("ids", mode="after")
    @classmethod
    def _ids(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _no_duplicates([uuid1_hex(v) for v in value])


class DeleteDatasets(_Strict):
    ids: list[str] | None = None
    delete_all: bool = False

    @field_validator("ids", mode="after")
    @classmethod
    def _ids(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _no_duplicates([uuid_hex(v) for v in value])


class OldListDatasets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    name: str | None = None
    page: Annotated[int, Field(default=1, ge=1)]
    page_size: Annotated[int, Field(default=30, ge=1)]
    orderby: Literal["create_time", "update_time"] = "create_time"
    desc: bool = True

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> str:
        return uuid1_hex(value)


def _page_size_cap(value: int) -> int:
    if value > 100:
        raise ValueError("page_size must be less than or equal to 100")
    return value


class ListDatasets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    name: str | None = None
    page: Annotated[int, Field(default=1, ge=1)]
    page_size: Annotated[int, Field(default=30, ge=1)]
    orderby: Literal["create_time", "update_time"] = "create_time"
    desc: bool = True
    ids: Annotated[list[str] | None, Field(default=None, max_length=100)]
    include_parsing_status: bool = False
    ext: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> str:
        return uuid_hex(value)

    @field_validator("page_size")
    @classmethod
    def _page_size(cls, value: int) -> int:
        return _page_size_cap(value)

    @field_validator("ids", mode="after")
    @classmethod
    def _ids(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _no_duplicates([uuid_hex(v) for v in value])


def list_query(params: Any, *, old: bool) -> dict[str, Any]:
    """The validated list-datasets query (RAGFlow validates the query string with pydantic)."""
    args: dict[str, Any] = {key: params.get(key) for key in params}
    if not old:
        if "ids" in params:
            args["ids"] = [p for raw in params.getlist("ids") for p in raw.split(",") if p]
        if isinstance(args.get("ext"), str):
            with contextlib.suppress(ValueError):
                args["ext"] = json.loads(args["ext"])
    return validated(OldListDatasets if old else ListDatasets, args)
