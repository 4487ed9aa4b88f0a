"""A minimal headless-Chromium driver over the DevTools protocol (websocket-client, no Selenium or Playwright).

One browser process serves every page of a test module: :meth:`Browser.load` navigates, waits for the load event,
and returns what the page logged (console errors, uncaught exceptions, failed resource loads); :meth:`evaluate`
runs JavaScript; :meth:`screenshot` writes a PNG.

Locked down:

- **No network**: every host name resolves to nothing (host resolver rules) and every other address goes through a
  proxy that does not exist (``127.0.0.1:9``), so only the loopback addresses (which Chromium never proxies) and
  local files load; the checks never depend on the network and see what an offline reader sees.
- **Sandboxed where the machine allows it**: Chromium refuses its sandbox to root (CI runs as root), so there, or
  when a sandboxed start fails (no user namespaces), it runs with ``--no-sandbox`` and :attr:`Browser.sandbox_note`
  says why; the tests report it as a warning.
- **DevTools for this client only**: no ``--remote-allow-origins``, so Chromium refuses a DevTools websocket from
  any web page (a request that carries an ``Origin``); this client sends none (``suppress_origin``).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "--window-size=1280,1000",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
         "--proxy-server=http://127.0.0.1:9", "--remote-debugging-port=0"]
NO_SANDBOX = "--no-sandbox"


def sandbox_refusal() -> str | None:
    """Why Chromium cannot use its sandbox on this machine before trying (running as root), or None."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return "running as root, where Chromium refuses its sandbox"
    return None


class Browser:
    """A headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, executable: str, profile_dir: Path, timeout: float = 60.0):
        import websocket

        self.profile_dir = Path(profile_dir)
        #: None when Chromium runs sandboxed, else why it does not.
        self.sandbox_note = sandbox_refusal()
        deadline = time.monotonic() + timeout
        port = None if self.sandbox_note else self._start(executable, [], deadline)
        if port is None and not self.sandbox_note:
            self.sandbox_note = f"Chromium did not start sandboxed ({self._log_tail()})"
        if port is None:
            port = self._start(executable, [NO_SANDBOX], deadline)
        if port is None:
            raise RuntimeError(f"chromium did not start (exit status {self.proc.returncode}): {self._log_tail()}")
        while True:  # the page target appears shortly after the port file
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout))
            pages = [t for t in targets if t.get("type") == "page"]
            if pages or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if not pages:
            self.close()
            raise RuntimeError("chromium started without a page target")
        self.devtools_url = pages[0]["webSocketDebuggerUrl"]
        self.ws = websocket.create_connection(self.devtools_url, timeout=timeout, suppress_origin=True)
        self.next_id, self.events = 0, []
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")

    @property
    def sandboxed(self) -> bool:
        return self.sandbox_note is None

    def _start(self, executable: str, extra: list[str], deadline: float) -> int | None:
        """Start Chromium; return its DevTools port, or None (process ended) when it exits before it listens."""
        port_file = self.profile_dir / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)
        self.log = self.profile_dir.parent / f"{self.profile_dir.name}.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen([executable, *FLAGS, *extra, f"--user-data-dir={self.profile_dir}",
                                          "about:blank"], stdout=subprocess.DEVNULL, stderr=log)
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self.proc.poll() is not None:
                return None
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"chromium did not start in time: {self._log_tail()}")
            time.sleep(0.1)
        return int(port_file.read_text().split()[0])

    def _log_tail(self) -> str:
        """Chromium's most telling error line: about the sandbox, else fatal, else the last error."""
        lines = self.log.read_text(errors="replace").splitlines()
        for keep in (lambda line: "sandbox" in line.lower(), lambda line: "FATAL" in line,
                     lambda line: "ERROR" in line):
            found = [line for line in lines if keep(line)]
            if found:
                return found[-1].split("] ", 1)[-1][:300]
        return "no error logged"

    def send(self, method: str, params: dict | None = None, timeout: float = 60.0) -> dict:
        """Call a DevTools method and return its result; events received meanwhile are kept in ``events``."""
        self.next_id += 1
        self.ws.settimeout(timeout)
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)
        raise TimeoutError(f"{method}: no answer in {timeout} s")

    def wait_for(self, event: str, timeout: float = 60.0) -> dict:
        """Wait for a DevTools event (e.g. ``Page.loadEventFired``) and return it."""
        from websocket import WebSocketTimeoutException

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.events:
                if message["method"] == event:
                    return message
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                message = json.loads(self.ws.recv())
            except WebSocketTimeoutException:  # loop to the deadline check
                continue
            if "method" in message:
                self.events.append(message)
        raise TimeoutError(f"no {event} within {timeout} s")

    def load(self, url: str, settle: float = 0.5, timeout: float = 60.0) -> list[dict[str, str]]:
        """Open ``url``, wait for its load event (and ``settle`` seconds more); return its problems.

        Each problem: ``{"kind": "exception" | "console" | "log", "text": ..., "url": ...}``.
        """
        self.events = []
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            return [{"kind": "navigation", "text": result["errorText"], "url": url}]
        self.wait_for("Page.loadEventFired", timeout)
        end = time.monotonic() + settle
        while time.monotonic() < end:  # late console messages
            self.evaluate("1")
            time.sleep(0.1)
        return self.problems()

    def problems(self) -> list[dict[str, str]]:
        found = []
        for message in self.events:
            method, params = message["method"], message.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                text = details.get("exception", {}).get("description") or details.get("text", "")
                found.append({"kind": "exception", "text": text, "url": details.get("url", "")})
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                found.append({"kind": "console", "text": text, "url": ""})
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                entry = params["entry"]
                found.append({"kind": "log", "text": entry.get("text", ""), "url": entry.get("url", "")})
        return found

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-serialisable values only)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"javascript failed: {result['exceptionDetails'].get('text')} in {expression!r}")
        return result["result"].get("value")

    def poll(self, expression: str, timeout: float = 60.0, interval: float = 0.5) -> Any:
        """Evaluate ``expression`` until it is truthy (returned) or ``timeout`` passes (the last value returned)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)

    def screenshot(self, path: Path) -> Path:
        """Write a PNG of the viewport to ``path``."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
