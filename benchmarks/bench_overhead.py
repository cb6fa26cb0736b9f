"""Per-call overhead of ``RAGFlow.retrieve`` against a bare pooled ``requests.Session`` sending the
identical request, and against the official ``ragflow-sdk`` doing the same retrieval; over plain
HTTP and over HTTPS."""

from __future__ import annotations

from collections.abc import Callable

import requests

from benchmarks._context import PAGE_SIZE, QUESTION, Context, Corpus, RequestRecorder
from benchmarks._harness import Round, Row, Size, compare, cpu_note, interleave, median, per_call
from benchmarks._profile import extra_time
from benchmarks._sdk import SdkUnavailable, SdkWorker

TARGET_VS_REQUESTS = 1.15


def _replay(request: requests.PreparedRequest, verify: bool | str) -> Callable[[], object]:
    """One call of the baseline: the same method, URL, headers and body through a pooled Session.

    ``verify`` goes with each request: a ``Session.verify`` loses to ``REQUESTS_CA_BUNDLE``.
    """
    session = requests.Session()
    method, url, body = str(request.method), str(request.url), request.body
    headers = dict(request.headers)

    def call() -> object:
        response = session.request(method, url, data=body, headers=headers, verify=verify)
        payload = response.json()
        if payload.get("code") != 0:
            raise RuntimeError(f"baseline retrieval failed: {payload}")
        return payload["data"]["chunks"]

    return call


def run(context: Context, corpus: Corpus, transport: str) -> list[Row]:
    """Rows for one transport (``"HTTP"`` or ``"HTTPS"``)."""
    from ragflow_integrations import RAGFlow

    size = context.size
    recorder = RequestRecorder()
    session = recorder.attach(requests.Session())
    client = RAGFlow(
        api_key=corpus.api_key, base_url=corpus.base_url, verify=corpus.verify, session=session
    )

    def ours() -> object:
        return client.retrieve(
            QUESTION, dataset_ids=[corpus.dataset_id], page=1, page_size=PAGE_SIZE
        )

    first = ours()  # also settles the one-time version probe
    recorder.reset()
    ours()
    requests_per_call = len(recorder.requests)
    baseline = _replay(recorder.requests[-1], corpus.verify)
    chunks = len(first)  # type: ignore[arg-type]

    vs_requests = Row(
        f"overhead.requests.{transport.lower()}",
        "Per-call overhead",
        f"`RAGFlow.retrieve` over {transport} ({chunks} chunks back)",
        "bare pooled `requests.Session`, identical request",
        "ms/call",
        target=TARGET_VS_REQUESTS,
        note=f"{requests_per_call} request(s) per call; corpus {corpus.chunks} chunks",
    )
    vs_sdk = Row(
        f"overhead.sdk.{transport.lower()}",
        "Per-call overhead",
        f"`RAGFlow.retrieve` over {transport}",
        "official `ragflow-sdk` `retrieve`",
        "ms/call",
    )
    ours_round, baseline_round = per_call(ours, size.calls), per_call(baseline, size.calls)
    sdk_cpu: list[float] = []
    try:
        figures = _interleave_with_sdk(
            {"ours": ours_round, "requests": baseline_round}, corpus, vs_sdk, size, sdk_cpu
        )
        compare(vs_requests, figures["ours"], figures["requests"])
        vs_requests.note += "; " + cpu_note(ours_round, baseline_round)
        if "sdk" in figures:
            compare(vs_sdk, figures["ours"], figures["sdk"])
            vs_sdk.note = (
                f"client CPU/call {median(ours_round.cpu) * 1000:.2f} vs "
                f"{median(sdk_cpu) * 1000:.2f} ms"
            )
        if vs_requests.met is False:
            vs_requests.details = extra_time(ours, baseline, size.calls * 4)
    finally:
        client.close()
    return [vs_requests, vs_sdk]


def _interleave_with_sdk(
    variants: dict[str, Round], corpus: Corpus, row: Row, size: Size, sdk_cpu: list[float]
) -> dict[str, list[float]]:
    """Interleave the variants plus the SDK's rounds (when the SDK can be installed)."""
    try:
        ca_bundle = corpus.verify if isinstance(corpus.verify, str) else None
        with SdkWorker(corpus.base_url, corpus.api_key, ca_bundle) as worker:
            fields = {
                "calls": size.calls,
                "dataset_ids": [corpus.dataset_id],
                "question": QUESTION,
                "page_size": PAGE_SIZE,
            }
            row.baseline_label += f" {worker.version} (subprocess; no connection pooling)"

            def sdk_round() -> float:
                reply = worker.request("retrieve", **fields)
                sdk_cpu.append(float(reply["cpu_per_call"]))
                return float(reply["seconds_per_call"])

            return interleave({**variants, "sdk": sdk_round}, size.rounds)
    except SdkUnavailable as error:
        row.unavailable = str(error)
        return interleave(variants, size.rounds)
