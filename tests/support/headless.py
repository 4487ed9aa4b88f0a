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
- **DevTools for this client only**: Chromium speaks DevTools over a pair of pipes to this process
  (``--remote-debugging-pipe``), not on a TCP port that any local user or web page could connect to.
"""

from __future__ import annotations

import base64
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "--window-size=1280,1000",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
         "--proxy-server=http://127.0.0.1:9", "--remote-debugging-pipe"]
NO_SANDBOX = "--no-sandbox"
#: Runs Chromium with the two given descriptors as its fds 3 (commands in) and 4 (answers out), as
#: ``--remote-debugging-pipe`` expects; both are first moved above 9 so that neither overwrites the other.
EXEC_WITH_PIPES = ("import fcntl, os, sys; fds = [fcntl.fcntl(int(a), fcntl.F_DUPFD, 10) for a in sys.argv[1:3]]; "
                   "[os.close(int(a)) for a in sys.argv[1:3]]; os.dup2(fds[0], 3); os.dup2(fds[1], 4); "
                   "[os.close(fd) for fd in fds]; os.execv(sys.argv[3], sys.argv[3:])")


class ChromiumGone(RuntimeError):
    """Chromium closed its DevTools pipe (it exited)."""


def sandbox_refusal() -> str | None:
    """Why Chromium cannot use its sandbox on this machine before trying (running as root), or None."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return "running as root, where Chromium refuses its sandbox"
    return None


class Browser:
    """A headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, executable: str, profile_dir: Path, timeout: float = 60.0):
        self.profile_dir = Path(profile_dir)
        self.proc, self.session, self.next_id, self.events = None, None, 0, []
        #: None when Chromium runs sandboxed, else why it does not.
        self.sandbox_note = sandbox_refusal()
        deadline = time.monotonic() + timeout
        started = False if self.sandbox_note else self._start(executable, [], deadline)
        if not started and not self.sandbox_note:
            self.sandbox_note = f"Chromium did not start sandboxed ({self._log_tail()})"
        if not started and not self._start(executable, [NO_SANDBOX], deadline):
            raise RuntimeError(f"chromium did not start (exit status {self.proc.returncode}): {self._log_tail()}")
        while True:  # the page target appears shortly after the start
            targets = self.send("Target.getTargets", timeout=timeout)["targetInfos"]
            pages = [t for t in targets if t.get("type") == "page"]
            if pages or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if not pages:
            self.close()
            raise RuntimeError("chromium started without a page target")
        self.session = self.send("Target.attachToTarget", {"targetId": pages[0]["targetId"], "flatten": True},
                                 timeout=timeout)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")

    @property
    def sandboxed(self) -> bool:
        return self.sandbox_note is None

    def _start(self, executable: str, extra: list[str], deadline: float) -> bool:
        """Start Chromium with its DevTools pipes; False when it exits before it answers (e.g. no sandbox)."""
        self.close()
        self.log = self.profile_dir.parent / f"{self.profile_dir.name}.log"
        commands, self._writer = os.pipe()  # ours to write, Chromium's fd 3
        self._reader, answers = os.pipe()  # Chromium's fd 4, ours to read
        self._buffer = bytearray()
        with self.log.open("w") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", EXEC_WITH_PIPES, str(commands), str(answers),
                                          executable, *FLAGS, *extra, f"--user-data-dir={self.profile_dir}",
                                          "about:blank"], stdout=subprocess.DEVNULL, stderr=log,
                                         pass_fds=(commands, answers))
        os.close(commands)
        os.close(answers)
        try:
            self.send("Browser.getVersion", timeout=max(1.0, deadline - time.monotonic()))
        except (ChromiumGone, BrokenPipeError):
            self.proc.wait(10)
            return False
        except TimeoutError:
            self.close()
            raise RuntimeError(f"chromium did not start in time: {self._log_tail()}") from None
        return True

    def _log_tail(self) -> str:
        """Chromium's most telling error line: about the sandbox, else fatal, else the last error."""
        lines = self.log.read_text(errors="replace").splitlines()
        for keep in (lambda line: "sandbox" in line.lower(), lambda line: "FATAL" in line,
                     lambda line: "ERROR" in line):
            found = [line for line in lines if keep(line)]
            if found:
                return found[-1].split("] ", 1)[-1][:300]
        return "no error logged"

    def _receive(self, timeout: float) -> dict:
        """The next DevTools message (NUL-terminated JSON on the pipe); TimeoutError when none comes in time."""
        deadline = time.monotonic() + timeout
        while (end := self._buffer.find(b"\0")) < 0:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._reader], [], [], left)[0]:
                raise TimeoutError(f"no DevTools message in {timeout:.0f} s")
            chunk = os.read(self._reader, 1 << 20)
            if not chunk:
                raise ChromiumGone(f"chromium closed its DevTools pipe (exit status {self.proc.poll()})")
            self._buffer += chunk
        message = json.loads(bytes(self._buffer[:end]))
        del self._buffer[:end + 1]
        return message

    def _keep_event(self, message: dict) -> None:
        if "method" in message and message.get("sessionId") == self.session:
            self.events.append(message)

    def send(self, method: str, params: dict | None = None, timeout: float = 60.0) -> dict:
        """Call a DevTools method (on the page once attached) and return its result; the page's events received
        meanwhile are kept in ``events``."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session:
            message["sessionId"] = self.session
        data = memoryview(json.dumps(message).encode() + b"\0")
        while data:
            data = data[os.write(self._writer, data):]
        deadline = time.monotonic() + timeout
        while True:
            answer = self._receive(max(0.0, deadline - time.monotonic()))
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self._keep_event(answer)

    def wait_for(self, event: str, timeout: float = 60.0) -> dict:
        """Wait for a DevTools event of the page (e.g. ``Page.loadEventFired``) and return it."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.events:
                if message["method"] == event:
                    return message
            try:
                self._keep_event(self._receive(max(0.0, deadline - time.monotonic())))
            except TimeoutError:
                raise TimeoutError(f"no {event} within {timeout} s") from None

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
        for name in ("_writer", "_reader"):
            fd = getattr(self, name, None)
            if fd is not None:
                os.close(fd)
                setattr(self, name, None)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
