"""tracevis: record graph/agent workflow runs to a tracevis server.

Three ways in::

    import tracevis
    tracevis.configure(url="http://127.0.0.1:3000")   # or TRACEVIS_URL / TRACEVIS_TOKEN
    tracevis.instrument_pydantic_graph()             # every pydantic-graph run
    tracevis.instrument_langgraph()                  # every compiled LangGraph graph

    with tracevis.run("my_pipeline", inputs={...}) as run:   # home-grown executors
        with run.node("plan", inputs={...}) as visit:
            visit.outputs = {...}
        run.snapshot("plan", state)

Recording never raises into your code and never blocks on the network: records
go to a bounded queue that one background thread sends in batches.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any

from ._client import Client, env_disabled
from ._run import NullRun, Run, Visit, new_execution_id

__all__ = [
    "configure",
    "run",
    "flush",
    "instrument_pydantic_graph",
    "instrument_langgraph",
    "uninstrument_pydantic_graph",
    "uninstrument_langgraph",
    "get_client",
    "Run",
    "Visit",
    "new_execution_id",
]

__version__ = "0.1.0"

# No NullHandler on purpose: without logging configured, Python's last-resort
# handler prints tracevis's few warnings (each logged once) to stderr.
log = logging.getLogger("tracevis")

_lock = threading.Lock()
_client: Client | None = None


def get_client() -> Client:
    """The process-wide client, created from the environment on first use."""
    global _client
    c = _client
    if c is None:
        with _lock:
            if _client is None:
                _client = Client()
            c = _client
    return c


def configure(
    url: str | None = None,
    token: str | None = None,
    *,
    enabled: bool | None = None,
    timeout: float | None = None,
    queue_size: int | None = None,
    flush_interval: float | None = None,
    max_attempts: int | None = None,
) -> Client:
    """Set where records go.

    ``url`` defaults to ``TRACEVIS_URL``, else ``http://127.0.0.1:3000``;
    ``token`` to ``TRACEVIS_TOKEN`` (sent as ``Authorization: Bearer``).
    ``enabled=False`` (or ``TRACEVIS_DISABLED=1``) turns recording off.
    ``timeout`` is the per-request socket timeout in seconds (default 5),
    ``queue_size`` the most records held in memory (default 10,000; the oldest
    are dropped beyond it), ``flush_interval`` how often the worker sends
    (default 0.2 s), ``max_attempts`` tries per request (default 5).
    """
    global _client
    try:
        with _lock:
            if _client is None or queue_size is not None:
                # (a client replaced here keeps sending for the runs it holds)
                _client = Client(
                    url,
                    token,
                    timeout=timeout,
                    queue_size=queue_size,
                    flush_interval=flush_interval,
                    max_attempts=max_attempts,
                    enabled=enabled,
                )
            else:
                c = _client
                c.set_endpoint(url, token)
                if enabled is not None:
                    c.enabled = bool(enabled)
                elif env_disabled():
                    c.enabled = False
                if timeout is not None:
                    c.timeout = timeout
                if flush_interval is not None:
                    c.flush_interval = flush_interval
                if max_attempts is not None:
                    c.max_attempts = max(1, max_attempts)
            return _client
    except Exception:
        log.warning("tracevis: configure failed", exc_info=True)
        return get_client()


def run(
    graph_type: str,
    inputs: Any = None,
    graph: Any = None,
    *,
    metadata: Any = None,
    initial_state: Any = None,
    execution_id: str | None = None,
) -> Run:
    """Start recording one execution of ``graph_type``; use as a context manager.

    ``graph`` declares the nodes and edges: ``{"nodes": [{"id": "a"}, ...],
    "edges": [{"from": "a", "to": "b"}, ...]}`` (plain ids and ``(from, to)``
    pairs are accepted too). Leaving the ``with`` block completes the run, or
    fails it with the exception, which propagates unchanged.
    """
    try:
        c = get_client()
        if not c.enabled:
            return NullRun(graph_type)
        return Run(
            c,
            graph_type,
            inputs=inputs,
            graph=graph,
            metadata=metadata,
            initial_state=initial_state,
            execution_id=execution_id,
        )
    except Exception:
        log.warning("tracevis: cannot start a run", exc_info=True)
        return NullRun(graph_type)


def flush(timeout: float = 5.0) -> bool:
    """Send everything recorded so far; wait at most ``timeout`` seconds.

    Returns ``True`` when everything was handed to the server (or given up
    after errors), ``False`` when the timeout ran out first.
    """
    c = _client
    if c is None:
        return True
    return c.flush(timeout)


def instrument_pydantic_graph() -> bool:
    """Record every pydantic-graph run from now on. Returns whether it applied."""
    if env_disabled():
        return False
    from . import _pydantic_graph

    return _pydantic_graph.instrument()


def uninstrument_pydantic_graph() -> None:
    from . import _pydantic_graph

    _pydantic_graph.uninstrument()


def instrument_langgraph() -> bool:
    """Record every top-level run of a compiled LangGraph graph. Returns whether it applied."""
    if env_disabled():
        return False
    from . import _langgraph

    return _langgraph.instrument()


def uninstrument_langgraph() -> None:
    from . import _langgraph

    _langgraph.uninstrument()


def _exit_flush() -> None:
    c = _client
    if c is None or not c.enabled:
        return
    try:
        timeout = float(os.environ.get("TRACEVIS_EXIT_TIMEOUT", "2.0"))
    except ValueError:
        timeout = 2.0
    try:
        c.flush(timeout)
    except Exception:
        pass


def _after_fork_in_child() -> None:
    c = _client
    if c is not None:
        try:
            c.after_fork_in_child()
        except Exception:
            pass


atexit.register(_exit_flush)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
