"""Runs and node visits: what user code and the integrations record through.

Everything on the user's thread is kept cheap: a ``time.time_ns()`` call,
serialising the values handed over (they may be mutated later) and one
``deque.append``. Ids, timestamps and request bodies are produced by the
worker thread.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import time
import uuid
from typing import Any, Iterable

from ._client import Client, _label, dumps_str, label_json, rfc3339
from ._serialize import capture, materialize, to_json

log = logging.getLogger("tracevis")

_time_ns = time.time_ns
_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_MAX_ERROR = 65_536


def new_execution_id() -> str:
    """A UUIDv7: 48 bits of Unix milliseconds, then random bits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        ((ms & ((1 << 48) - 1)) << 80)
        | (0x7 << 76)
        | (((rand >> 64) & 0xFFF) << 64)
        | (0b10 << 62)
        | (rand & ((1 << 62) - 1))
    )
    return str(uuid.UUID(int=value))


def error_text(exc: BaseException) -> str:
    try:
        message = str(exc)
    except Exception:
        message = ""
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text[:_MAX_ERROR]


def normalize_graph(graph: Any) -> dict | None:
    """Accept ``{"nodes": [...], "edges": [...]}`` with nodes as ids or ``{"id": ...}``
    and edges as ``(from, to)`` pairs or ``{"from": ..., "to": ...}``."""
    if graph is None:
        return None
    if not isinstance(graph, dict):
        raise TypeError("graph must be a dict with 'nodes' and 'edges'")
    nodes = []
    for n in graph.get("nodes") or []:
        if isinstance(n, dict):
            node = {"id": _label(n.get("id"))}
            if n.get("label") is not None:
                node["label"] = str(n["label"])
        else:
            node = {"id": _label(n)}
        nodes.append(node)
    edges = []
    for e in graph.get("edges") or []:
        if isinstance(e, dict):
            edge = {"from": _label(e.get("from")), "to": _label(e.get("to"))}
            if e.get("label") is not None:
                edge["label"] = str(e["label"])
        else:
            a, b = e[0], e[1]
            edge = {"from": _label(a), "to": _label(b)}
            if len(e) > 2 and e[2] is not None:
                edge["label"] = str(e[2])
        edges.append(edge)
    known = {n["id"] for n in nodes}
    for e in edges:  # the server wants every edge end declared as a node
        for end in (e["from"], e["to"]):
            if end not in known:
                known.add(end)
                nodes.append({"id": end})
    return {"nodes": nodes, "edges": edges}


class Run:
    """One execution. Create it with :func:`tracevis.run`."""

    def __init__(
        self,
        client: Client,
        graph_type: str,
        *,
        inputs: Any = None,
        graph: Any = None,
        metadata: Any = None,
        initial_state: Any = None,
        execution_id: str | None = None,
        start_ns: int | None = None,
        graph_json: str | None = None,
    ) -> None:
        self._client = client
        if execution_id is not None and not _ID.fullmatch(str(execution_id)):
            log.warning(
                "tracevis: execution_id %r is not 1-128 of [A-Za-z0-9._:-]; using a generated one", execution_id
            )
            execution_id = None
        self.execution_id = str(execution_id) if execution_id else new_execution_id()
        self.graph_type = _label(graph_type)
        self._start_ns = start_ns or _time_ns()
        self._inputs_json = capture(inputs) if inputs is not None else "{}"
        if graph_json is None and graph is not None:
            try:
                graph_json = to_json(normalize_graph(graph))
            except Exception:
                log.warning("tracevis: ignoring invalid graph for %s", self.graph_type, exc_info=True)
                graph_json = None
        self._graph_json = graph_json
        self._metadata_json = capture(metadata) if metadata else "{}"
        self._initial_state_json = capture(initial_state) if initial_state is not None else None
        self._last_state: str | None = self._initial_state_json
        self._final_state: str | None = None
        self._completed = False
        # Owned by the worker thread:
        self._start_sent = False
        self._dead = False
        self._n_events = 0
        self._n_snaps = 0
        self._start_cache: bytes | None = None
        self._visit_ids = itertools.count(1)
        client.enqueue(("S", self))

    # -- public API -----------------------------------------------------

    def node(
        self,
        node_id: str,
        inputs: Any = None,
        *,
        metadata: dict | None = None,
        attempt: int | None = None,
        after: "Visit | Iterable[Visit] | None" = None,
    ) -> "Visit":
        """A context manager recording one visit of ``node_id``.

        ``started`` on entry, ``completed`` (or ``failed`` with the error when
        the block raises; the exception propagates unchanged) on exit. Set
        ``visit.outputs`` inside the block; add to ``visit.metadata`` (e.g.
        ``llm_calls``, ``tokens``). ``attempt`` (1-based) marks a retry.
        ``after`` names the visit(s) this one follows — the branches a join
        waited for — so tracevis draws the fork/join and finds the critical
        path from what happened rather than from timing; visits of this run
        that were never entered are left out.
        """
        return Visit(self, node_id, inputs, metadata, attempt, after)

    def snapshot(self, node_id: str, state: Any) -> None:
        """Record the state as it is now (serialised immediately), after ``node_id``."""
        try:
            t = _time_ns()
            text = capture(state)
            self._last_state = text
            self._client.enqueue(("N", self, node_id, t, text))
        except Exception:
            log.debug("tracevis: snapshot failed", exc_info=True)

    def cached(self, node_id: str, inputs: Any = None, outputs: Any = None, *, metadata: dict | None = None) -> None:
        """Record that ``node_id`` was answered from a cache instead of running."""
        try:
            t = _time_ns()
            self._client.enqueue(
                (
                    "E",
                    self,
                    node_id,
                    "cached",
                    t,
                    0.0,
                    None if inputs is None else capture(inputs),
                    None if outputs is None else capture(outputs),
                    None,
                    capture(metadata) if metadata else None,
                )
            )
        except Exception:
            log.debug("tracevis: cached failed", exc_info=True)

    @property
    def final_state(self) -> Any:
        """The final state as recorded (parsed back from its JSON), or ``None``."""
        return None if self._final_state is None else json.loads(materialize(self._final_state))

    @final_state.setter
    def final_state(self, value: Any) -> None:
        try:
            self._final_state = capture(value)
        except Exception:
            log.debug("tracevis: final_state failed", exc_info=True)

    def complete(self, error: BaseException | str | None = None, *, status: str | None = None) -> None:
        """Finish the run: ``completed``, or ``failed`` when ``error`` is given. Idempotent."""
        try:
            if self._completed:
                return
            self._completed = True
            t = _time_ns()
            if error is not None and not isinstance(error, str):
                error = error_text(error)
            if status is None:
                status = "failed" if error is not None else "completed"
            final = self._final_state if self._final_state is not None else self._last_state
            self._client.enqueue(("C", self, status, t, final, error))
        except Exception:
            log.debug("tracevis: complete failed", exc_info=True)

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.complete(exc)
        return False

    async def __aenter__(self) -> "Run":
        return self

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        self.complete(exc)
        return False

    # -- internal, for integrations ------------------------------------

    def _event(
        self,
        node_id: str,
        event_type: str,
        t_ns: int,
        duration_ms: float | None = None,
        inputs_json: str | None = None,
        outputs_json: str | None = None,
        error: str | None = None,
        metadata_json: str | None = None,
    ) -> None:
        self._client.enqueue(
            ("E", self, node_id, event_type, t_ns, duration_ms, inputs_json, outputs_json, error, metadata_json)
        )

    def _snapshot_json(self, node_id: str, t_ns: int, state_json: str) -> None:
        self._last_state = state_json
        self._client.enqueue(("N", self, node_id, t_ns, state_json))

    # -- worker side ----------------------------------------------------

    def _start_body(self) -> bytes:
        if self._start_cache is None:
            parts = [
                '{"execution_id":',
                dumps_str(self.execution_id),
                ',"graph_type":',
                dumps_str(self.graph_type),
                ',"original_inputs":',
                materialize(self._inputs_json),
                ',"start_time":"',
                rfc3339(self._start_ns),
                '","metadata":',
                materialize(self._metadata_json),
            ]
            if self._graph_json is not None:
                parts += [',"graph":', self._graph_json]
            if self._initial_state_json is not None:
                parts += [',"initial_state":', materialize(self._initial_state_json)]
            parts.append("}")
            self._start_cache = "".join(parts).encode("ascii")
        return self._start_cache

    def _fragment(self, rec: tuple) -> tuple[str, str]:
        if rec[0] == "E":
            _, _, node_id, event_type, t, duration, inputs, outputs, error, meta = rec[:10]
            # A visit's started event carries the visit's own id (parents name
            # it) and the ids of the visits it follows.
            event_id, parents = rec[10:12] if len(rec) > 10 else (None, None)
            self._n_events += 1
            parts = [
                '{"event_id":',
                dumps_str(event_id) if event_id else '"e%d"' % self._n_events,
                ',"node_id":',
                label_json(node_id),
                ',"event_type":"',
                event_type,
                '","timestamp":"',
                rfc3339(t),
                '"',
            ]
            if duration is not None:
                parts += [',"duration_ms":', repr(max(0.0, float(duration)))]
            if inputs is not None:
                parts += [',"inputs":', materialize(inputs)]
            if outputs is not None:
                parts += [',"outputs":', materialize(outputs)]
            if error is not None:
                parts += [',"error":', dumps_str(error)]
            if meta is not None:
                parts += [',"metadata":', materialize(meta)]
            if parents:
                parts += [',"parents":[', ",".join(dumps_str(p) for p in parents), "]"]
            parts.append("}")
            return ("E", "".join(parts))
        _, _, node_id, t, state = rec
        self._n_snaps += 1
        return (
            "N",
            '{"snapshot_id":"s%d","timestamp":"%s","node_id":%s,"state":%s}'
            % (self._n_snaps, rfc3339(t), label_json(node_id), materialize(state)),
        )

    def _complete_body(self, rec: tuple) -> bytes:
        _, _, status, t, final, error = rec
        t = max(t, self._start_ns)
        parts = ['{"status":"', status, '","end_time":"', rfc3339(t), '"']
        if final is not None:
            parts += [',"final_state":', materialize(final)]
        if error is not None:
            parts += [',"error":', dumps_str(error)]
        parts.append("}")
        return "".join(parts).encode("ascii")

    def __repr__(self) -> str:
        return f"<tracevis.Run {self.graph_type} {self.execution_id}>"


class Visit:
    """One node visit; see :meth:`Run.node`. ``visit.id`` is the id of its
    ``started`` event, what ``after=`` of a later visit names."""

    __slots__ = ("_run", "node_id", "_inputs", "_t0", "outputs", "metadata", "_attempt", "_done", "id", "_parents", "_entered")

    def __init__(
        self,
        run: Run,
        node_id: str,
        inputs: Any,
        metadata: dict | None,
        attempt: int | None,
        after: "Visit | Iterable[Visit] | None" = None,
    ) -> None:
        self._run = run
        self.node_id = node_id
        try:
            self._inputs = None if inputs is None else capture(inputs)
        except Exception:
            self._inputs = None
        self.outputs: Any = None
        self.metadata: dict = dict(metadata) if metadata else {}
        if attempt is not None:
            self.metadata["attempt"] = attempt
        self._attempt = attempt
        self._t0 = 0
        self._done = False
        self._entered = False
        # next() on itertools.count is atomic under the GIL: visits made on
        # several threads at once still get distinct ids.
        self.id = "v%d" % next(run._visit_ids)
        self._parents = _parent_ids(run, after)

    def __enter__(self) -> "Visit":
        try:
            self._t0 = t = _time_ns()
            meta = None if self._attempt is None else '{"attempt":%d}' % int(self._attempt)
            self._run._client.enqueue(
                ("E", self._run, self.node_id, "started", t, None, self._inputs, None, None, meta, self.id, self._parents)
            )
            self._entered = True
        except Exception:
            log.debug("tracevis: node start failed", exc_info=True)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._finish(exc)
        return False

    async def __aenter__(self) -> "Visit":
        return self.__enter__()

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        self._finish(exc)
        return False

    def _finish(self, exc: BaseException | None) -> None:
        try:
            if self._done:
                return
            self._done = True
            t = _time_ns()
            outputs = None if self.outputs is None else capture(self.outputs)
            meta = capture(self.metadata) if self.metadata else None
            if exc is None:
                event_type, error = "completed", None
            else:
                event_type, error = "failed", error_text(exc)
            self._run._client.enqueue(
                ("E", self._run, self.node_id, event_type, t, (t - self._t0) / 1e6, None, outputs, error, meta)
            )
        except Exception:
            log.debug("tracevis: node end failed", exc_info=True)


def _parent_ids(run: Run, after: Any) -> list[str] | None:
    """The ids of the entered visits of ``run`` among ``after`` (one visit or
    several): a parent tracevis has not been sent would fail the batch."""
    if after is None:
        return None
    visits = [after] if isinstance(after, Visit) else list(after)
    ids = [v.id for v in visits if isinstance(v, Visit) and v._run is run and v._entered]
    return ids[:64] or None


class NullRun(Run):
    """What :func:`tracevis.run` returns while tracevis is disabled: same API, no effect."""

    def __init__(self, graph_type: str = "", **_: Any) -> None:  # noqa: D401
        self.execution_id = ""
        self.graph_type = graph_type
        self._completed = True
        self._final_state = None
        self._last_state = None

    def node(
        self,
        node_id: str,
        inputs: Any = None,
        *,
        metadata: dict | None = None,
        attempt: int | None = None,
        after: Any = None,
    ) -> "Visit":
        return _NullVisit(node_id)

    def snapshot(self, node_id: str, state: Any) -> None:
        pass

    def cached(self, node_id: str, inputs: Any = None, outputs: Any = None, *, metadata: dict | None = None) -> None:
        pass

    @property
    def final_state(self) -> Any:
        return None

    @final_state.setter
    def final_state(self, value: Any) -> None:
        pass

    def complete(self, error: Any = None, *, status: str | None = None) -> None:
        pass

    def _event(self, *args: Any, **kwargs: Any) -> None:
        pass

    def _snapshot_json(self, *args: Any) -> None:
        pass

    def __repr__(self) -> str:
        return "<tracevis.NullRun>"


class _NullVisit:
    __slots__ = ("node_id", "outputs", "metadata", "id")

    def __init__(self, node_id: str) -> None:
        self.id = ""
        self.node_id = node_id
        self.outputs = None
        self.metadata: dict = {}

    def __enter__(self) -> "_NullVisit":
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False

    async def __aenter__(self) -> "_NullVisit":
        return self

    async def __aexit__(self, *exc: Any) -> bool:
        return False
