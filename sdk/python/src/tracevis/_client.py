"""The transport: a bounded in-memory queue drained by one daemon thread.

User threads only append tuples to a ``collections.deque`` (atomic, no lock,
drop-oldest when full). The worker thread groups records per execution and
POSTs them in order: start, then event batches, then complete. Network
failures are retried with exponential backoff and jitter (429, 5xx,
connection errors; ``Retry-After`` honoured), other 4xx are dropped. Nothing
in this module ever raises into user code.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import random
import re
import threading
import time
import urllib.parse
from collections import deque
from email.utils import parsedate_to_datetime
from typing import Any

log = logging.getLogger("tracevis")

DEFAULT_URL = "http://127.0.0.1:3000"

_warned: set[str] = set()


def warn_once(key: str, message: str, *args: Any) -> None:
    """Log ``message`` at WARNING the first time ``key`` is seen, then at DEBUG."""
    if key in _warned:
        log.debug(message, *args)
    else:
        _warned.add(key)
        log.warning(message, *args)


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def env_disabled() -> bool:
    return os.environ.get("TRACEVIS_DISABLED", "").strip().lower() in ("1", "true", "yes", "on")


_second_cache: list = [None, ""]


def rfc3339(ns: int) -> str:
    """``ns`` (Unix epoch nanoseconds) as an RFC 3339 UTC timestamp with microseconds."""
    s, rem = divmod(ns, 1_000_000_000)
    cache = _second_cache
    if cache[0] != s:
        cache[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s))
        cache[0] = s
    return "%s.%06dZ" % (cache[1], rem // 1000)


def _label(value: Any) -> str:
    """A ``node_id``/``graph_type``: non-empty, at most 256 characters."""
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:
        text = "unknown"
    if not text:
        return "unknown"
    return text[:256]


# Outcomes of one POST.
OK = "ok"
GONE = "gone"  # 404/409: the execution is unknown or already finished
REJECTED = "rejected"  # another 4xx: retrying cannot help
FAILED = "failed"  # retries exhausted (server down, 5xx, timeouts)

_BAD_RECORD = re.compile(r"(events|snapshots)\[(\d+)\]")
_MAX_BODY = 4 * 1024 * 1024  # split event batches above this (server default limit: 16 MiB)
_MAX_RECORDS = 500


class Client:
    """Queue + worker thread + HTTP. One per process (see :func:`get_client`)."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float | None = None,
        queue_size: int | None = None,
        batch_size: int | None = None,
        flush_interval: float | None = None,
        max_attempts: int | None = None,
        enabled: bool | None = None,
    ) -> None:
        self.enabled = (not env_disabled()) if enabled is None else bool(enabled)
        self.timeout = timeout if timeout is not None else _env_float("TRACEVIS_TIMEOUT", 5.0)
        self.queue_size = queue_size or _env_int("TRACEVIS_QUEUE_SIZE", 10_000)
        self.batch_size = batch_size or 100
        self.flush_interval = flush_interval if flush_interval is not None else 0.2
        self.max_attempts = max(1, max_attempts or 5)
        self.set_endpoint(url, token)
        self._reset_runtime()

    # -- configuration -------------------------------------------------

    def set_endpoint(self, url: str | None, token: str | None) -> None:
        url = url or os.environ.get("TRACEVIS_URL") or DEFAULT_URL
        token = token if token is not None else os.environ.get("TRACEVIS_TOKEN") or None
        parts = urllib.parse.urlsplit(url if "://" in url else "http://" + url)
        self.url = url
        self._scheme = parts.scheme or "http"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "tracevis-python",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._headers = headers
        self._endpoint_version = getattr(self, "_endpoint_version", 0) + 1

    def _reset_runtime(self) -> None:
        """Fresh queue, thread state and connection (at creation and in a forked child)."""
        self._q: deque = deque(maxlen=self.queue_size)
        self._maxlen = self.queue_size
        self._dropped = 0
        self._dropped_reported = 0
        self._wake = threading.Event()
        self._start_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._conn: http.client.HTTPConnection | None = None
        self._conn_version = 0
        self._flushing = 0
        self._degraded_until = 0.0
        self._last_error_body = ""
        self._warned: set[str] = set()
        self.stats = {"sent": 0, "failed": 0, "rejected": 0, "requests": 0}

    # -- the user's side (hot path) -------------------------------------

    def enqueue(self, record: tuple) -> None:
        q = self._q
        if len(q) >= self._maxlen:
            self._dropped += 1
            if self._dropped == 1:
                self._warn_dropped()
        q.append(record)
        if self._thread is None:
            self._start()
        elif len(q) >= self.batch_size and not self._wake.is_set():
            self._wake.set()

    def _warn_dropped(self) -> None:
        try:
            log.warning(
                "tracevis: queue full (%d records): dropping the oldest records while the server "
                "does not keep up (counted in client.dropped; logged once)",
                self._maxlen,
            )
        except Exception:
            pass

    @property
    def dropped(self) -> int:
        """Records dropped because the queue was full."""
        return self._dropped

    def warn_once(self, key: str, message: str, *args: Any) -> None:
        if key in self._warned:
            log.debug(message, *args)
        else:
            self._warned.add(key)
            log.warning(message, *args)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            t = threading.Thread(target=self._loop, name="tracevis-worker", daemon=True)
            self._thread = t
            t.start()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued before this call is sent (or given up).

        Returns ``True`` when drained, ``False`` when ``timeout`` ran out.
        """
        try:
            if not self.enabled:
                return True
            deadline = time.monotonic() + max(0.0, timeout)
            if self._thread is None or not self._thread.is_alive():
                if not self._q:
                    return True
                self._thread = None
                self._start()
            done = threading.Event()
            with self._flush_lock:
                self._flushing += 1
            try:
                self.enqueue(("F", done))
                self._wake.set()
                return done.wait(max(0.0, deadline - time.monotonic()))
            finally:
                with self._flush_lock:
                    self._flushing -= 1
        except Exception:  # pragma: no cover - defensive
            log.debug("tracevis: flush failed", exc_info=True)
            return False

    # -- the worker ---------------------------------------------------------

    def _loop(self) -> None:
        q = self._q
        while True:
            try:
                if not q:
                    self._wake.wait(self.flush_interval)
                    self._wake.clear()
                records = []
                while q and len(records) < 10_000:
                    records.append(q.popleft())
                if records:
                    self._process(records)
                if self._dropped != self._dropped_reported:
                    self._dropped_reported = self._dropped
                    log.debug("tracevis: %d record(s) dropped so far (queue full)", self._dropped)
            except Exception:
                log.debug("tracevis: worker error", exc_info=True)
                time.sleep(0.05)

    def _process(self, records: list) -> None:
        groups: dict = {}
        for rec in records:
            if rec[0] == "F":
                self._send_groups(groups)
                groups = {}
                rec[1].set()
            else:
                run = rec[1]
                g = groups.get(run)
                if g is None:
                    groups[run] = [rec]
                else:
                    g.append(rec)
        self._send_groups(groups)

    def _send_groups(self, groups: dict) -> None:
        for run, recs in groups.items():
            try:
                self._send_run(run, recs)
            except Exception:
                log.debug("tracevis: cannot send records of %s", getattr(run, "execution_id", "?"), exc_info=True)

    def _send_run(self, run: Any, recs: list) -> None:
        if run._dead:
            return
        if not run._start_sent:
            outcome = self._post("/api/v1/executions", run._start_body(), "start", run)
            if outcome != OK:
                # Refused: nothing of this run can be stored. Unreachable: these
                # records are lost, the next ones try the start again.
                if outcome != FAILED:
                    run._dead = True
                return
            run._start_sent = True
        frags: list = []
        completion = None
        for rec in recs:
            kind = rec[0]
            if kind == "E" or kind == "N":
                frags.append(run._fragment(rec))
            elif kind == "C":
                completion = rec
        path = f"/api/v1/executions/{run.execution_id}"
        if frags:
            self._post_fragments(path + "/events", frags, run)
            if run._dead:
                return
        if completion is not None:
            self._post(path + "/complete", run._complete_body(completion), "complete", run)
            run._dead = True  # nothing may follow a completion

    def _post_fragments(self, path: str, frags: list, run: Any) -> None:
        # Split by size and count, then post each chunk; a chunk the server
        # rejects as invalid is bisected so one bad record loses only itself.
        chunk: list = []
        size = 0
        for f in frags:
            n = len(f[1]) + 1
            if chunk and (size + n > _MAX_BODY or len(chunk) >= _MAX_RECORDS):
                self._post_chunk(path, chunk, run)
                if run._dead:
                    return
                chunk, size = [], 0
            chunk.append(f)
            size += n
        if chunk:
            self._post_chunk(path, chunk, run)

    def _post_chunk(self, path: str, chunk: list, run: Any) -> None:
        # The server names a bad record by its index ("events[3].duration_ms");
        # that record is dropped and the rest sent again, a few times at most.
        for _ in range(8):
            events = [f for f in chunk if f[0] == "E"]
            snaps = [f for f in chunk if f[0] == "N"]
            body = (
                '{"events":[' + ",".join(t for _, t in events) + '],"snapshots":[' + ",".join(t for _, t in snaps) + "]}"
            ).encode("ascii")
            outcome = self._post(path, body, "events", run)
            if outcome == GONE:
                run._dead = True
            if outcome != REJECTED or len(chunk) <= 1:
                return
            m = _BAD_RECORD.search(self._last_error_body)
            if not m:
                return
            index = int(m.group(2))
            bad = (events if m.group(1) == "events" else snaps)
            if index >= len(bad):
                return
            drop = bad[index]
            chunk = [f for f in chunk if f is not drop]
            if not chunk:
                return

    # -- HTTP -----------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None or self._conn_version != self._endpoint_version:
            self._close()
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.timeout)
            self._conn_version = self._endpoint_version
        return self._conn

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def _request(self, path: str, body: bytes) -> tuple[int, str | None, bytes]:
        fresh = self._conn is None
        for retry_stale in (True, False):
            conn = self._connection()
            try:
                conn.request("POST", self._prefix + path, body=body, headers=self._headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self._close()
                return resp.status, resp.getheader("Retry-After"), data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._close()
                # A kept-alive connection the server closed meanwhile: one
                # immediate retry on a new connection (POSTs are idempotent).
                if fresh or not retry_stale:
                    raise
                fresh = True
            except BaseException:
                self._close()
                raise
        raise ConnectionError("unreachable")  # pragma: no cover

    def _post(self, path: str, body: bytes, what: str, run: Any) -> str:
        attempt = 0
        while True:
            attempt += 1
            self.stats["requests"] += 1
            status: int | None = None
            retry_after: str | None = None
            error = ""
            try:
                status, retry_after, data = self._request(path, body)
            except (OSError, http.client.HTTPException) as e:
                error = f"{type(e).__name__}: {e}"
            if status is not None:
                if 200 <= status < 300:
                    self._degraded_until = 0.0
                    self.stats["sent"] += 1
                    return OK
                if status == 409 and what == "complete":
                    return OK  # already finished: a retried completion
                if status in (404, 409) and what != "start":
                    log.debug("tracevis: %s for %s answered %s: %s", what, run.execution_id, status, data[:300])
                    return GONE
                if status < 500 and status != 429:
                    self.stats["rejected"] += 1
                    self._last_error_body = data[:2000].decode("utf-8", "replace")
                    self.warn_once(
                        f"http{status}",
                        "tracevis: server refused %s for execution %s: HTTP %s %s",
                        what,
                        run.execution_id,
                        status,
                        data[:500].decode("utf-8", "replace"),
                    )
                    return REJECTED
                error = f"HTTP {status} {data[:200].decode('utf-8', 'replace')}"
            limit = 1 if time.monotonic() < self._degraded_until else self.max_attempts
            if attempt >= limit or (status is None and self._flushing):
                # Give up on this request. While a flush waits (e.g. at exit) a
                # server that cannot be reached is not retried at all.
                self._degraded_until = time.monotonic() + 10.0
                self.stats["failed"] += 1
                self.warn_once(
                    "unreachable",
                    "tracevis: cannot send to %s (%s); records are dropped while it fails",
                    self.url,
                    error,
                )
                return FAILED
            delay = self._backoff(attempt, retry_after)
            self._sleep(delay, interruptible=status is None)

    @staticmethod
    def _backoff(attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(60.0, max(0.0, float(retry_after)))
            except ValueError:
                try:
                    when = parsedate_to_datetime(retry_after).timestamp()
                    return min(60.0, max(0.0, when - time.time()))
                except Exception:
                    pass
        base = min(8.0, 0.25 * (2 ** (attempt - 1)))
        return base * random.uniform(0.5, 1.0)

    def _sleep(self, delay: float, interruptible: bool) -> None:
        end = time.monotonic() + delay
        while True:
            left = end - time.monotonic()
            if left <= 0 or (interruptible and self._flushing):
                return
            time.sleep(min(left, 0.05))

    # -- fork ---------------------------------------------------------------

    def after_fork_in_child(self) -> None:
        """The worker thread does not survive fork(): start over in the child."""
        self._reset_runtime()


_label_json: dict = {}


def dumps_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)


def label_json(value: Any) -> str:
    """JSON string of the label for ``value`` (cached: node ids repeat)."""
    try:
        hit = _label_json.get(value)
    except Exception:  # unhashable, or a hostile __hash__/__eq__
        return json.dumps(_label(value))
    if hit is None:
        hit = json.dumps(_label(value))
        if len(_label_json) < 10_000:
            _label_json[value] = hit
    return hit
