"""Envelope decoding and the error mapping table."""

from __future__ import annotations

import json

import pytest

from ragflow_integrations import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DataError,
    DocumentParseError,
    NotFoundError,
    ParseFailure,
    ParseTimeoutError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    RouteNotFoundError,
    ServerError,
)
from ragflow_integrations._core.envelope import decode, snippet_of
from ragflow_integrations._core.request import RequestSpec
from ragflow_integrations.errors import map_error

SPEC = RequestSpec("GET", "/datasets")
JSON_HEADERS = {"Content-Type": "application/json"}


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_success_returns_whole_envelope_even_without_message() -> None:
    decoded = decode(200, JSON_HEADERS, body(code=0, data=[1, 2], total_datasets=2), SPEC)
    assert decoded == {"code": 0, "data": [1, 2], "total_datasets": 2}


@pytest.mark.parametrize(
    ("status", "payload", "error_type", "code"),
    [
        (200, {"code": 102, "message": "You don't own the dataset x."}, NotFoundError, 102),
        (
            200,
            {"code": 102, "message": "User 't' lacks permission for dataset 'x'"},
            NotFoundError,
            102,
        ),
        (200, {"code": 102, "message": "The chat doesn't own the session s"}, NotFoundError, 102),
        (
            200,
            {"code": 102, "message": "Duplicated document name in the same dataset."},
            DataError,
            102,
        ),
        (200, {"code": 102, "message": "Document not found!"}, NotFoundError, 102),
        (
            401,
            {"code": 401, "message": "<Unauthorized '401: Unauthorized'>", "data": None},
            AuthenticationError,
            401,
        ),
        (
            200,
            {"code": 109, "message": "Authentication error: API key is invalid!", "data": False},
            AuthenticationError,
            109,
        ),
        (
            200,
            # RAGFlow v0.27 answers an unknown (or another tenant's) chat id this way.
            {"code": 109, "message": "no authorization", "data": False},
            NotFoundError,
            109,
        ),
        (
            200,
            {"code": 0, "message": "`Authorization` can't be empty", "data": False},
            AuthenticationError,
            0,
        ),
        (
            200,
            {"code": 101, "message": "Field: <name> - Message: <too long>"},
            BadRequestError,
            101,
        ),
        (200, {"code": 100, "message": "KeyError('x')"}, ServerError, 100),
        (
            200,
            {"code": 100, "message": "ValueError('page_size must be less than or equal to 100')"},
            BadRequestError,
            100,
        ),
        (
            200,
            {"code": 103, "message": "Only owner of canvas authorized"},
            PermissionDeniedError,
            103,
        ),
        (200, {"code": 108, "message": "permission"}, PermissionDeniedError, 108),
        # RAGFlow v0.22 answers an unknown dataset name or id with 108 "lacks permission".
        (
            200,
            {"code": 108, "message": "User 't' lacks permission for dataset 'nope'"},
            NotFoundError,
            108,
        ),
        (
            404,
            {"code": 404, "message": "Not Found: /api/v1/nope", "data": None, "error": "Not Found"},
            RouteNotFoundError,
            404,
        ),
        # RAGFlow before v0.25 answers every unknown route and wrong method with code 100.
        (
            200,
            {"code": 100, "data": None, "message": "<NotFound '404: Not Found'>"},
            RouteNotFoundError,
            100,
        ),
        (
            200,
            {"code": 100, "data": None, "message": "<MethodNotAllowed '405: Method Not Allowed'>"},
            RouteNotFoundError,
            100,
        ),
        (200, {"code": 409, "message": "conflict"}, ConflictError, 409),
        (429, {"code": 429, "message": "slow down"}, RateLimitError, 429),
        (200, {"code": 500, "message": "all files failed"}, ServerError, 500),
        (500, {"code": 100, "message": "boom"}, ServerError, 100),
        (200, {"code": 400, "message": "model provider said no"}, BadRequestError, 400),
    ],
)
def test_error_table(
    status: int, payload: dict[str, object], error_type: type[APIError], code: int
) -> None:
    with pytest.raises(error_type) as info:
        decode(status, JSON_HEADERS, json.dumps(payload).encode(), SPEC, attempts=3)
    error = info.value
    assert type(error) is error_type
    assert error.code == code
    assert error.status_code == status
    assert (error.method, error.path, error.attempts) == ("GET", "/datasets", 3)
    assert str(payload["message"]).rstrip(".!") in error.message


def test_auth_errors_say_what_to_do() -> None:
    error = map_error(401, 401, "<Unauthorized '401: Unauthorized'>", "GET", "/datasets")
    assert "RAGFLOW_API_KEY" in str(error)
    assert "HTTP 401" in str(error) and "GET /datasets" in str(error)


def test_html_502_from_a_proxy_is_a_server_error_with_snippet() -> None:
    html = b"<html><head><title>502 Bad Gateway</title></head><body>" + b"x" * 1000 + b"</html>"
    with pytest.raises(ServerError) as info:
        decode(502, {"Content-Type": "text/html"}, html, SPEC)
    assert info.value.status_code == 502
    assert "502 Bad Gateway" in info.value.message
    assert len(info.value.message) < 400


def test_non_json_success_status_is_a_decode_error() -> None:
    with pytest.raises(ResponseDecodeError) as info:
        decode(200, {"Content-Type": "text/html"}, b"<html>login page</html>", SPEC)
    assert info.value.snippet == "<html>login page</html>"
    assert info.value.status_code == 200


def test_partial_upload_keeps_the_uploaded_documents_on_the_error() -> None:
    payload = {"code": 500, "message": "b.exe: unsupported type", "data": [{"id": "d1"}]}
    with pytest.raises(ServerError) as info:
        decode(200, JSON_HEADERS, json.dumps(payload).encode(), RequestSpec("POST", "/x"))
    assert info.value.data == [{"id": "d1"}]


def test_raw_download_returns_bytes_and_detects_json_errors() -> None:
    spec = RequestSpec("GET", "/datasets/d/documents/x", raw=True)
    file_headers = {
        "Content-Type": "application/json",
        "Content-Disposition": "attachment; filename=a.json",
    }
    assert decode(200, file_headers, b'{"code": 1}', spec) == b'{"code": 1}'
    assert decode(200, {"Content-Type": "text/plain"}, b"hello", spec) == b"hello"
    with pytest.raises(NotFoundError):
        decode(200, JSON_HEADERS, body(code=102, message="document not found"), spec)


def test_plain_json_endpoints_raise_on_error_envelopes() -> None:
    spec = RequestSpec("POST", "/openai/c/chat/completions", envelope=False)
    assert decode(200, JSON_HEADERS, body(id="x", choices=[]), spec) == {"id": "x", "choices": []}
    with pytest.raises(BadRequestError):
        decode(200, JSON_HEADERS, body(code=101, message="`llm_id` x doesn't exist"), spec)


def test_snippet_collapses_whitespace_and_truncates() -> None:
    assert snippet_of(b"a \n\n b") == "a b"
    assert len(snippet_of(b"y" * 5000)) == 201


def test_error_repr_and_str_carry_context() -> None:
    error = map_error(200, 102, "Dataset name 'x' already exists", "POST", "/datasets", attempts=2)
    assert "after 2 attempts" in str(error)
    assert "code=102" in repr(error)


def test_str_shortens_a_huge_server_message_but_keeps_it_whole() -> None:
    error = ServerError("boom " * 1000, status_code=500, code=100, method="GET", path="/datasets")
    text = str(error)
    assert len(text) < 2100
    assert text.endswith("(GET /datasets) [HTTP 500, code 100]")
    assert "3000 more characters in .message" in text
    assert error.message == "boom " * 1000
    assert str(ServerError("short")) == "short"


def test_hide_masks_a_secret_everywhere_an_error_carries_text() -> None:
    secret = "ragflow-secret-0123456789"
    cause = ServerError(f"cancel failed for {secret}")
    error = ParseTimeoutError([f"doc-{secret}"], timeout=1.0, cancel_error=cause)
    error.__cause__ = cause
    failures = DocumentParseError([ParseFailure("d1", "a.txt", f"bad {secret}")])
    decode_error = ResponseDecodeError("not JSON", snippet=f"<pre>{secret}</pre>")
    api_error = DataError(secret, data={"echo": [secret, (secret,)]})
    for each in (error, failures, decode_error, api_error):
        each.hide(secret)
        assert secret not in repr(vars(each)) + str(each) + repr(each) + repr(each.args)
    assert cause.message == "cancel failed for ***"
    assert failures.failures[0] == ParseFailure("d1", "a.txt", "bad ***")
    assert failures.failures[0].progress_msg == "bad ***"
    assert decode_error.snippet == "<pre>***</pre>"
    assert api_error.data == {"echo": ["***", ("***",)]}
    untouched = ServerError("nothing to hide")
    untouched.hide("")
    assert untouched.message == "nothing to hide"
