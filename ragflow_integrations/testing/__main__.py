"""``python -m ragflow_integrations.testing serve``: run the local stand-in until Ctrl-C."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ragflow_integrations.testing",
        description="A local stand-in for a RAGFlow server (not RAGFlow; for tests and demos).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve RAGFlow's HTTP API on this machine")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=9380)
    serve.add_argument("--data-dir", default=None, help="keep data here (default: a temp dir)")
    serve.add_argument("--api-key", default=None, help="default: a random ragflow-local-… key")
    serve.add_argument("--emulate", choices=["0.27", "0.22"], default="0.27")
    serve.add_argument(
        "--parse-delay", type=float, default=0.0, help="seconds of simulated work per document"
    )
    serve.add_argument(
        "--llm",
        action="append",
        default=[],
        metavar="NAME",
        help="another configured chat model name for `llm_id` / `model` (repeatable)",
    )
    serve.add_argument("--certfile", default=None, help="TLS certificate (with --keyfile)")
    serve.add_argument("--keyfile", default=None, help="TLS private key (with --certfile)")
    words = list(sys.argv[1:] if argv is None else argv)
    if not words or (words[0].startswith("-") and words[0] not in ("-h", "--help")):
        words.insert(0, "serve")  # `ragflow-local-server --port 9380` means serve
    args = parser.parse_args(words)

    from .server import LocalRAGFlowServer

    server = LocalRAGFlowServer(
        api_key=args.api_key,
        emulate=args.emulate,
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        ssl_certfile=args.certfile,
        ssl_keyfile=args.keyfile,
        parse_delay=args.parse_delay,
        llms=args.llm,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with server:
        print(server.description, flush=True)
        print(f"base_url: {server.base_url}", flush=True)
        print(f"api_key:  {server.api_key}", flush=True)
        print(f"data_dir: {server.data_dir}", flush=True)
        print("For the command line and scripts, in another shell:", flush=True)
        print(f"export RAGFLOW_BASE_URL={shlex.quote(server.base_url)}", flush=True)
        print(f"export RAGFLOW_API_KEY={shlex.quote(server.api_key)}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
