"""``nemo-mcp --transport streamable-http`` as a real process, on the port it picks itself."""

from __future__ import annotations

import itertools
import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

_numbers = itertools.count()
_ADDRESS = re.compile(rb"Serving MCP at (http://\S+/mcp)")


class HttpServer:
    """Started with ``--port 0``; ready once its log line names the address it listens on.

    Its stderr is copied line by line into ``stderr-N.txt`` (read it with ``log()`` after
    ``stop()``), its stdout into ``stdout-N.txt``: nothing should ever land there.
    """

    def __init__(self, tmp_path: Path, host: str, *args: str, env: dict[str, str]) -> None:
        n = next(_numbers)
        self.errlog = tmp_path / f"stderr-{n}.txt"
        self.outlog = tmp_path / f"stdout-{n}.txt"
        command = [sys.executable, "-m", "nemo_mcp", "--transport", "streamable-http", "--host", host, "--port", "0"]
        full = {
            **os.environ,
            "NEMO_STATE_DIR": str(tmp_path / "state"),
            "NEMO_OUTPUT_DIR": str(tmp_path / "out"),
            **env,
        }
        with open(self.outlog, "wb") as out:
            self.proc = subprocess.Popen([*command, *args], env=full, stdout=out, stderr=subprocess.PIPE)
        addresses: queue.Queue[str | None] = queue.Queue()
        self._copier = threading.Thread(target=self._copy_stderr, args=(addresses,), daemon=True)
        self._copier.start()
        try:
            url = addresses.get(timeout=30)
        except queue.Empty:
            url = None
        if url is None:
            self.stop()
            raise RuntimeError(f"nemo-mcp did not start serving: {self.log()}")
        self.url: str = url

    def _copy_stderr(self, addresses: queue.Queue[str | None]) -> None:
        assert self.proc.stderr is not None
        with open(self.errlog, "wb") as copy:
            for line in self.proc.stderr:
                copy.write(line)
                copy.flush()
                if found := _ADDRESS.search(line):
                    addresses.put(found.group(1).decode())
        addresses.put(None)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            code = self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._copier.join(15)
        return code

    def log(self) -> str:
        """Everything it wrote, stdout included (which should be nothing)."""
        return self.errlog.read_text() + self.outlog.read_text()
