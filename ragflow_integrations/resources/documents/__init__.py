"""Documents: a dataset's files (``documents.py``) and their parsing (``parsing.py``)."""

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
    "AsyncDataSetParsing",
    "AsyncDocument",
    "DataSetDocuments",
    "DataSetParsing",
    "Document",
    "ParserConfig",
    "ProgressCallback",
    "delete_documents",
    "download_document",
    "get_document",
    "match_uploads",
    "parse_documents_cancel",
    "parse_documents_start",
    "translate_parser_config",
    "unmatched_uploads",
    "update_document",
    "upload_documents",
    "wait_for_parsing",
    "walk_documents",
]
