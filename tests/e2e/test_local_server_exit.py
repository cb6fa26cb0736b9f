"""A local server started and never stopped (as the README quickstart does) cleans up at exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.live

NEVER_STOPPED = textwrap.dedent(
    """
    from ragflow_integrations import RAGFlow
    from ragflow_integrations.testing import LocalRAGFlowServer

    server = LocalRAGFlowServer().start()
    client = RAGFlow(api_key=server.api_key, base_url=server.base_url)
    client.create_dataset(name="left-running").upload_documents(
        [{"display_name": "a.txt", "blob": b"Some text."}]
    )
    print(server.data_dir, flush=True)
    """
)


@pytest.mark.parametrize("ending", ["normal", "sys.exit(3)"])
def test_a_server_never_stopped_removes_its_temp_dir_at_exit(ending: str) -> None:
    code = NEVER_STOPPED + ("" if ending == "normal" else "import sys; sys.exit(3)\n")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    seconds = time.monotonic() - started
    assert done.returncode == (0 if ending == "normal" else 3), done.stderr
    data_dir = Path(done.stdout.strip().splitlines()[-1])
    assert data_dir.name.startswith("ragflow-local-")
    assert not data_dir.exists(), f"{data_dir} left behind at exit"
    assert "Traceback" not in done.stderr, done.stderr
    assert seconds < 30, f"exit took {seconds:.1f} s"


def test_a_stopped_server_is_not_kept_alive_for_exit() -> None:
    import gc
    import weakref

    from ragflow_integrations.testing import LocalRAGFlowServer

    server = LocalRAGFlowServer().start()
    data_dir = server.data_dir
    server.stop()
    assert data_dir is not None and not data_dir.exists()
    gone = weakref.ref(server)
    del server
    gc.collect()
    assert gone() is None, "the exit hook still holds a stopped server"
