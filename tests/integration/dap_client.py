"""dap_client.py: a small Debug Adapter Protocol client over stdio for
lldb-dap-22, enough for the tests: requests with their responses, and every
event kept in arrival order (output, stopped, progressStart/Update/End)."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from typing import Any, Dict, List, Optional


def lldb_dap_executable() -> Optional[str]:
    version = os.environ.get("FRAMEAUDIT_LLDB_VERSION", "22")
    return shutil.which(f"lldb-dap-{version}") or shutil.which("lldb-dap")


class DapClient:
    def __init__(self, executable: str):
        self.proc = subprocess.Popen([executable], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.seq = 0
        self.messages: "queue.Queue[Dict[str, Any]]" = queue.Queue()
        self.events: List[Dict[str, Any]] = []
        self.responses: List[Dict[str, Any]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        stream = self.proc.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length is None:
                continue
            self.messages.put(json.loads(stream.read(length)))

    def send(self, command: str, arguments: Optional[dict] = None) -> int:
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command,
                           "arguments": arguments or {}}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()
        return self.seq

    def _next(self, deadline: float) -> Dict[str, Any]:
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            raise TimeoutError("lldb-dap did not answer in time")
        message = self.messages.get(timeout=timeout)
        if message.get("type") == "event":
            self.events.append(message)
        elif message.get("type") == "response":
            self.responses.append(message)
        return message

    def request(self, command: str, arguments: Optional[dict] = None,
                timeout: float = 120) -> Dict[str, Any]:
        """Send a request and return its response (events seen meanwhile are kept)."""
        seq = self.send(command, arguments)
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline)
            if message.get("type") == "response" and message.get("request_seq") == seq:
                return message

    def response(self, seq: int, timeout: float = 120) -> Dict[str, Any]:
        """The response to an earlier send()."""
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline)
            if message.get("type") == "response" and message.get("request_seq") == seq:
                return message

    def start(self, command: str, arguments: dict, timeout: float = 120) -> Dict[str, Any]:
        """launch or attach as DAP clients do: the request, then
        configurationDone once the adapter says "initialized", then the
        request's response (lldb-dap answers it after configurationDone)."""
        seq = self.send(command, arguments)
        self.wait_event("initialized", timeout=timeout)
        done = self.send("configurationDone")
        self.response(done, timeout=timeout)
        return self._pending_response(seq, timeout)

    def _pending_response(self, seq: int, timeout: float) -> Dict[str, Any]:
        for message in self.responses:
            if message.get("request_seq") == seq:
                return message
        return self.response(seq, timeout)

    def wait_event(self, name: str, timeout: float = 120,
                   where=lambda e: True) -> Dict[str, Any]:
        for e in self.events:
            if e.get("event") == name and where(e):
                return e
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline)
            if message.get("type") == "event" and message.get("event") == name and where(message):
                return message

    def drain(self, seconds: float = 0.5) -> None:
        deadline = time.monotonic() + seconds
        try:
            while True:
                self._next(deadline)
        except (TimeoutError, queue.Empty):
            pass

    def event_names(self) -> List[str]:
        return [e.get("event") for e in self.events]

    def close(self) -> None:
        try:
            self.request("disconnect", {"terminateDebuggee": True}, timeout=20)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def initialize(self) -> Dict[str, Any]:
        return self.request("initialize", {
            "clientID": "frameaudit-tests", "adapterID": "lldb-dap", "linesStartAt1": True,
            "columnsStartAt1": True, "pathFormat": "path", "supportsProgressReporting": True,
            "supportsRunInTerminalRequest": False})

    def repl(self, command: str, frame_id: Optional[int] = None,
             timeout: float = 300) -> Dict[str, Any]:
        """An LLDB command typed into the debug console (backtick escape)."""
        arguments = {"expression": "`" + command, "context": "repl"}
        if frame_id is not None:
            arguments["frameId"] = frame_id
        return self.request("evaluate", arguments, timeout=timeout)
