"""Text extraction and chunking for the local server's parse worker.

Tokens are approximated as whitespace-separated words. Chunking follows RAGFlow's text parser
and ``naive_merge``: split at the delimiters (dropping them), group the paragraphs up to
``chunk_token_num`` words, then merge the groups behind newlines, so chunks start with one (a
single paragraph longer than the limit stays whole, as in RAGFlow).
"""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from typing import Any

TEXT_SUFFIXES = frozenset(
    {
        "txt",
        "text",
        "md",
        "markdown",
        "mdx",
        "log",
        "rst",
        "py",
        "js",
        "ts",
        "java",
        "c",
        "cpp",
        "h",
        "go",
        "rs",
        "sh",
        "yaml",
        "yml",
        "ini",
        "toml",
        "xml",
        "sql",
    }
)
HTML_SUFFIXES = frozenset({"html", "htm"})
PARSEABLE = TEXT_SUFFIXES | HTML_SUFFIXES | {"csv", "json", "jsonl", "pdf", "docx"}
# Accepted on upload (RAGFlow knows them) but without an extractor here: parsing FAILs.
UPLOAD_ONLY = frozenset(
    {
        "doc",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "bmp",
        "tif",
        "tiff",
        "webp",
        "mp3",
        "wav",
        "m4a",
        "eml",
        "msg",
        "epub",
        "odt",
    }
)
UPLOADABLE = PARSEABLE | UPLOAD_ONLY

_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "tr",
        "table",
        "section",
        "article",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "footer",
        "pre",
        "blockquote",
        "title",
        "td",
        "th",
        "dt",
        "dd",
    }
)


class ParseFailure(Exception):
    """A document cannot be turned into text; the message becomes its ``progress_msg``."""


def suffix_of(name: str) -> str:
    return name.rsplit(".", 1)[1].lower() if "." in name else ""


def file_type(suffix: str) -> str:
    """RAGFlow's coarse document ``type``."""
    if suffix == "pdf":
        return "pdf"
    if suffix in {"png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp"}:
        return "visual"
    if suffix in {"mp3", "wav", "m4a"}:
        return "aural"
    return "doc"


def media_type(suffix: str) -> str:
    import mimetypes

    guessed = mimetypes.guess_type("x." + suffix)[0]
    return guessed or "application/octet-stream"


def decode_text(blob: bytes) -> str:
    """UTF-8 (with or without BOM), BOM-marked UTF-16, else Windows-1252/Latin-1.

    Like RAGFlow, which tries one codec after another, any byte string decodes; NUL bytes
    stay in the text.
    """
    if blob.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return blob.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return blob.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return blob.decode("cp1252")
    except UnicodeDecodeError:
        return blob.decode("latin-1")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "noscript", "template"}:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "noscript", "template"}:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = (
        re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(extractor.parts).split("\n")
    )
    return "\n".join(line for line in lines if line)


def _pdf_text(blob: bytes) -> str:
    try:
        import pypdf  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise ParseFailure(
            "PDF parsing needs the optional package 'pypdf', which is not installed on this "
            "local server (pip install pypdf)."
        ) from None
    try:
        reader = pypdf.PdfReader(io.BytesIO(blob))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except Exception as exc:
        raise ParseFailure(f"Cannot read the PDF: {exc}") from None


def _docx_text(blob: bytes) -> str:
    try:
        import docx  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise ParseFailure(
            "DOCX parsing needs the optional package 'python-docx', which is not installed on "
            "this local server (pip install python-docx)."
        ) from None
    try:
        document = docx.Document(io.BytesIO(blob))
        return "\n".join(p.text for p in document.paragraphs)
    except Exception as exc:
        raise ParseFailure(f"Cannot read the DOCX file: {exc}") from None


def word_count(text: str) -> int:
    return len(text.split())


def _unescape(delimiter: str) -> str:
    """``\\n`` written as two characters (v0.22's default is exactly that) means a newline."""
    return delimiter.replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "\r")


def delimiter_pattern(delimiter: str) -> str | None:
    """A regex alternation of the delimiters: each character, and backtick-wrapped strings."""
    delimiter = _unescape(delimiter)
    multi = re.findall(r"`([^`]+)`", delimiter)
    singles = re.sub(r"`[^`]+`", "", delimiter)
    alternatives = sorted(multi, key=len, reverse=True) + list(dict.fromkeys(singles))
    return "|".join(re.escape(a) for a in alternatives) if alternatives else None


def paragraphs(text: str, delimiter: str) -> list[str]:
    """The text between delimiters (the delimiters themselves are dropped), without empties."""
    pattern = delimiter_pattern(delimiter)
    pieces = re.split(pattern, text) if pattern else [text]
    return [p for p in pieces if p]


def group_paragraphs(
    pieces: list[str], chunk_token_num: int, *, old: bool
) -> list[tuple[str, int]]:
    """RAGFlow's text parser: paragraphs accumulate until a group passes ``chunk_token_num``
    tokens (v0.22 glues them together; v0.27 keeps a newline between them and starts a new
    group before one would overflow)."""
    groups: list[list[str]] = [[]]
    sizes = [0]
    for piece in pieces:
        size = word_count(piece)
        full = sizes[-1] > chunk_token_num if old else sizes[-1] + size > chunk_token_num
        if groups[-1] and full:
            groups.append([])
            sizes.append(0)
        groups[-1].append(piece)
        sizes[-1] += size
    joiner = "" if old else "\n"
    return [(joiner.join(g), n) for g, n in zip(groups, sizes, strict=True) if g]


def naive_merge(sections: list[tuple[str, int]], chunk_token_num: int) -> list[str]:
    """RAGFlow's ``naive_merge`` over (text, tokens) sections: each joins the current chunk
    behind a newline until the chunk passes ``chunk_token_num`` tokens, so every chunk starts
    with a newline."""
    chunks: list[str] = []
    sizes: list[int] = []
    for section, size in sections:
        if not section.strip():
            continue
        if not chunks or sizes[-1] > chunk_token_num:
            chunks.append("\n" + section)
            sizes.append(size)
        else:
            chunks[-1] += "\n" + section
            sizes[-1] += size
    return chunks


def chunk_text(text: str, delimiter: str, chunk_token_num: int, *, old: bool) -> list[str]:
    groups = group_paragraphs(paragraphs(text, delimiter), max(1, chunk_token_num), old=old)
    return naive_merge(groups, max(1, chunk_token_num))


def _csv_chunks(text: str, chunk_token_num: int) -> list[str]:
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header, body = rows[0], rows[1:]
    if not body:
        return [", ".join(header)]
    header_line = ", ".join(header)
    budget = max(1, chunk_token_num - word_count(header_line))
    chunks: list[str] = []
    group: list[str] = []
    words = 0
    for row in body:
        line = "; ".join(
            f"{header[i] if i < len(header) else f'column {i + 1}'}: {cell}"
            for i, cell in enumerate(row)
        )
        n = word_count(line)
        if group and words + n > budget:
            chunks.append(header_line + "\n" + "\n".join(group))
            group, words = [], 0
        group.append(line)
        words += n
    if group:
        chunks.append(header_line + "\n" + "\n".join(group))
    return chunks


def _json_pieces(text: str, suffix: str) -> list[str]:
    try:
        if suffix == "jsonl":
            values: Any = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            values = json.loads(text)
    except ValueError as exc:
        raise ParseFailure(f"Invalid JSON: {exc}") from None
    if isinstance(values, dict):
        return [json.dumps({k: v}, ensure_ascii=False) + "\n" for k, v in values.items()]
    if isinstance(values, list):
        return [json.dumps(v, ensure_ascii=False) + "\n" for v in values]
    return [json.dumps(values, ensure_ascii=False)]


# RAGFlow's chunk methods that take only some file types (rag/app/<method>.py raise otherwise)
_METHOD_SUFFIXES = {"presentation": ("ppt", "pptx", "pdf")}


def chunk_document(
    name: str,
    blob: bytes,
    parser_config: dict[str, Any],
    *,
    old: bool = False,
    chunk_method: str = "naive",
) -> list[str]:
    """Turn a stored file into chunk texts, or raise :class:`ParseFailure`."""
    suffix = suffix_of(name)
    allowed = _METHOD_SUFFIXES.get(chunk_method)
    if allowed is not None and suffix not in allowed:
        raise ParseFailure(f"file type not supported yet({', '.join(allowed)} supported)")
    token_num = int(parser_config.get("chunk_token_num") or 512)
    delimiter = str(parser_config.get("delimiter") or "\n")
    if suffix not in PARSEABLE:
        raise ParseFailure(
            f"The local server cannot parse '.{suffix}' files (no OCR, layout or office "
            "models); supported: .txt .md .html .csv .json, .pdf with pypdf, "
            ".docx with python-docx."
        )
    if suffix == "pdf":
        text = _pdf_text(blob)
    elif suffix == "docx":
        text = _docx_text(blob)
    else:
        text = decode_text(blob)
    if suffix == "csv":
        return _csv_chunks(text, token_num)
    if suffix in {"json", "jsonl"}:
        pieces = [p.strip() for p in _json_pieces(text, suffix)]
        return naive_merge([(p, word_count(p)) for p in pieces], token_num)
    if suffix in HTML_SUFFIXES:
        text = html_to_text(text)
    return chunk_text(text, delimiter, token_num, old=old)
