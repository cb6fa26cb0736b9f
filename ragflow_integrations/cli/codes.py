"""Exit codes of the command line, and how an error becomes one line and one code."""

from __future__ import annotations

from enum import IntEnum

from ..errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    IngestionError,
    NotFoundError,
    PermissionDeniedError,
    RAGFlowError,
)

__all__ = ["CommandError", "ExitCode", "describe", "exit_code_for"]


class ExitCode(IntEnum):
    """What the process exit status means (documented in ``--help`` and docs/cli.md)."""

    OK = 0
    FAILED = 1
    """Some files could not be synced (upload, parse, timeout or delete failed)."""
    USAGE = 2
    """Bad arguments or configuration (no API key, no such folder, an invalid value)."""
    CONNECTION = 3
    """The server could not be reached, timed out, or rejected the API key."""
    NOT_FOUND = 4
    """The dataset or chat assistant named does not exist."""
    SERVER = 5
    """The server refused or failed a request."""
    INTERNAL = 70
    """A bug in this program (``--debug`` shows the traceback)."""
    INTERRUPTED = 130
    """Stopped with Ctrl-C; a ``sync`` can simply be run again."""


EXIT_CODES_HELP = "exit codes: " + ", ".join(
    f"{code.value} {text}"
    for code, text in (
        (ExitCode.OK, "success"),
        (ExitCode.FAILED, "some files failed"),
        (ExitCode.USAGE, "usage or configuration error"),
        (ExitCode.CONNECTION, "cannot connect or the API key was rejected"),
        (ExitCode.NOT_FOUND, "dataset or chat not found"),
        (ExitCode.SERVER, "the server refused or failed a request"),
        (ExitCode.INTERNAL, "a bug (see --debug)"),
        (ExitCode.INTERRUPTED, "interrupted"),
    )
)


class CommandError(Exception):
    """A problem the command reports as one line with its own exit code."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code for an error that ended a command."""
    if isinstance(error, CommandError):
        return error.code
    if isinstance(error, APIConnectionError | AuthenticationError | PermissionDeniedError):
        return ExitCode.CONNECTION
    if isinstance(error, NotFoundError):
        return ExitCode.NOT_FOUND
    if isinstance(error, IngestionError):
        return ExitCode.FAILED
    if isinstance(error, BadRequestError):
        return ExitCode.USAGE
    if isinstance(error, RAGFlowError):
        return ExitCode.SERVER
    return ExitCode.INTERNAL


def describe(error: BaseException, base_url: str | None = None) -> str:
    """One line saying what went wrong and, where it helps, what to do next."""
    where = f" at {base_url.removesuffix('/api/v1')}" if base_url else ""
    if isinstance(error, CommandError):
        text = error.message
    elif isinstance(error, AuthenticationError):
        text = (
            f"the server{where} rejected the API key ({_status(error)}); set RAGFLOW_API_KEY "
            "(or --api-key) to a key created in the RAGFlow UI"
        )
    elif isinstance(error, APIConnectionError):
        text = (
            f"cannot reach RAGFlow{where} ({_connection_reason(error)}, {error.attempts} "
            "attempt(s)); is it running? Check RAGFLOW_BASE_URL (or --base-url)"
        )
    elif isinstance(error, RAGFlowError):
        text = str(error)
    else:
        text = f"internal error: {type(error).__name__}: {error} (--debug shows the traceback)"
    return one_line(text)


def _status(error: RAGFlowError) -> str:
    parts = [f"HTTP {error.status_code}"] if error.status_code else []
    if error.code not in (None, error.status_code):
        parts.append(f"code {error.code}")
    return ", ".join(parts) or "no status"


_REASONS = (
    (("timed out", "timeout"), "timed out"),
    (("connection refused",), "connection refused"),
    (
        ("name or service not known", "nodename nor servname", "failed to resolve", "getaddrinfo"),
        "unknown host name",
    ),
    (("certificate", "ssl", "tls"), "TLS error: the certificate was not accepted (see --debug)"),
    (
        ("connection reset", "aborted", "remote end closed", "connection broken"),
        "the connection was cut",
    ),
)


def _connection_reason(error: APIConnectionError) -> str:
    if isinstance(error, APITimeoutError):
        return "timed out"
    texts, cause = [error.message], error.__cause__
    while cause is not None and len(texts) < 5:  # the transport's own error says more
        texts.append(str(cause))
        cause = cause.__cause__
    lowered = " ".join(texts).lower()
    for words, reason in _REASONS:
        if any(word in lowered for word in words):
            return reason
    return "no answer (see --debug)"


def one_line(text: str) -> str:
    """``text`` with its line breaks folded (a server message may hold several lines)."""
    return " | ".join(part.strip() for part in str(text).splitlines() if part.strip())
