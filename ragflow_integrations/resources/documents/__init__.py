"""Documents: a dataset's files (``documents.py``), their parsing (``parsing.py``) and their
metadata in bulk (``metadata.py``)."""

from .documents import (
    AsyncDataSetDocuments,
    AsyncDocument,
    DataSetDocuments,
    Document,
    delete_documents,
    download_document,
    get_document,
    match_uploads,
    unmatched_uploads,
    update_document,
    upload_documents,
    walk_documents,
)
from .metadata import (
    AsyncDataSetMetadata,
    AutoMetadataConfig,
    DataSetMetadata,
    MetadataFieldSummary,
    MetadataUpdateResult,
    set_uploaded_metadata,
)
from .parsing import (
    AsyncDataSetParsing,
    DataSetParsing,
    ParserConfig,
    ProgressCallback,
    parse_documents_cancel,
    parse_documents_start,
    translate_parser_config,
    wait_for_parsing,
)

__all__ = [
    "AsyncDataSetDocuments",
    "AsyncDataSetMetadata",
    "AsyncDataSetParsing",
    "AsyncDocument",
    "AutoMetadataConfig",
    "DataSetDocuments",
    "DataSetMetadata",
    "DataSetParsing",
    "Document",
    "MetadataFieldSummary",
    "MetadataUpdateResult",
    "ParserConfig",
    "ProgressCallback",
    "delete_documents",
    "download_document",
    "get_document",
    "match_uploads",
    "parse_documents_cancel",
    "parse_documents_start",
    "set_uploaded_metadata",
    "translate_parser_config",
    "unmatched_uploads",
    "update_document",
    "upload_documents",
    "wait_for_parsing",
    "walk_documents",
]
