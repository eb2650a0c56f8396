"""Recording LangGraph runs.

``Pregel.stream`` and ``Pregel.astream`` (which ``invoke``/``ainvoke``/``batch``
go through) are wrapped: a top-level call, i.e. one not made from inside
another graph's task, gets a fresh :class:`TracevisCallbackHandler` added to
its config's callbacks. LangChain hands an inheritable handler every run
below the graph, so the handler sees:

* the graph's root run (the first chain it sees): the tracevis run, with the
  graph's nodes and edges from ``graph.get_graph()`` and the final state from
  the root's outputs;
* the root's direct children that carry ``langgraph_node`` metadata: the node
  visits (inputs = the state the node saw, outputs = its update). Anything
  deeper (routing functions, a subgraph's own nodes, LLM and tool calls) is
  part of the visit above it, so a subgraph node is one visit;
* ``on_llm_end`` anywhere below a node: ``llm_calls`` and ``tokens`` on the
  node's completed event.

Two loop internals add what callbacks cannot show, guarded and optional:
``PregelLoop.after_tick`` (the state after each superstep, read from the
channels) and ``PregelLoop.put_writes(cached=True)`` (cache hits, which run no
callback).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any
from uuid import UUID

from ._client import warn_once
from ._run import NullRun, Run, error_text
from ._serialize import capture, to_json

log = logging.getLogger("tracevis")

_time_ns = time.time_ns
_patches: list[tuple[Any, str, Any]] = []
_TASK_ID_KEY = "__pregel_task_id"
# root run id of a recorded graph run -> its handler (for the loop hooks)
_active: dict[Any, "TracevisCallbackHandler"] = {}

try:  # pragma: no cover - import guard
    from langchain_core.callbacks import BaseCallbackHandler as _Base
except Exception:  # langchain-core missing: the module still imports
    _Base = object  # type: ignore[assignment,misc]


def _patch(owner: Any, name: str, new: Any) -> None:
    _patches.append((owner, name, owner.__dict__[name]))
    setattr(owner, name, new)


def uninstrument() -> None:
    while _patches:
        owner, name, old = _patches.pop()
        setattr(owner, name, old)


class _NodeVisit:
    __slots__ = ("node_id", "t0", "inputs", "llm_calls", "tokens", "attempt", "step")

    def __init__(self, node_id: str, t0: int, inputs: str | None, attempt: int, step: Any) -> None:
        self.node_id = node_id
        self.t0 = t0
        self.inputs = inputs
        self.llm_calls = 0
        self.tokens = 0
        self.attempt = attempt
        self.step = step


def _tokens_of(response: Any) -> int | None:
    total = 0
    found = False
    try:
        for gens in getattr(response, "generations", None) or []:
            for g in gens:
                usage = getattr(getattr(g, "message", None), "usage_metadata", None)
                if usage:
                    found = True
                    t = usage.get("total_tokens")
                    if t is None:
                        t = (usage.get("input_tokens") or 0) + (usage.get("output_tokens") or 0)
                    total += int(t or 0)
        if found:
            return total
        out = getattr(response, "llm_output", None) or {}
        usage = out.get("token_usage") or out.get("usage") or {}
        if usage:
            t = usage.get("total_tokens")
            if t is None:
                t = (usage.get("prompt_tokens") or usage.get("input_tokens") or 0) + (
                    usage.get("completion_tokens") or usage.get("output_tokens") or 0
                )
            return int(t or 0)
    except Exception:
        log.debug("tracevis: cannot read token usage", exc_info=True)
    return None


def _is_control_flow(error: BaseException) -> bool:
    try:
        from langgraph.errors import GraphBubbleUp

        return isinstance(error, GraphBubbleUp)
    except Exception:
        return False


class TracevisCallbackHandler(_Base):  # type: ignore[misc,valid-type]
    """Records one LangGraph graph invocation. Added by :func:`tracevis.instrument_langgraph`."""

    run_inline = True  # called in order, on the calling thread / event loop
    raise_error = False

    def __init__(self, graph_json: str | None = None) -> None:
        if _Base is not object:
            super().__init__()
        self._graph_json = graph_json
        self._root: Any = None
        self.run: Run | None = None
        self._visits: dict[Any, _NodeVisit] = {}
        self._owner: dict[Any, _NodeVisit] = {}
        self._attempts: dict[str, int] = {}
        self._last_node: str | None = None
        self._lock = threading.Lock()

    # -- chains -------------------------------------------------------------

    def on_chain_start(
        self,
        serialized: Any,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: Any = None,
        metadata: dict | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            if self._root is None:
                with self._lock:
                    if self._root is None:
                        self._start_run(run_id, inputs, kwargs.get("name"))
                        return
            if parent_run_id is not None and parent_run_id == self._root:
                metadata = metadata or {}
                node_id = metadata.get("langgraph_node") or kwargs.get("name") or "node"
                ns = metadata.get("langgraph_checkpoint_ns") or ""
                with self._lock:
                    attempt = self._attempts.get(ns, 0) + 1 if ns else 1
                    if ns:
                        self._attempts[ns] = attempt
                t = _time_ns()
                inputs_json = capture(inputs)
                visit = _NodeVisit(str(node_id), t, inputs_json, attempt, metadata.get("langgraph_step"))
                self._visits[run_id] = visit
                self._owner[run_id] = visit
                meta = '{"attempt":%d}' % attempt if attempt > 1 else None
                if self.run is not None:
                    self.run._event(visit.node_id, "started", t, None, inputs_json, None, None, meta)
            else:
                owner = self._owner.get(parent_run_id)
                if owner is not None:
                    self._owner[run_id] = owner
        except Exception:
            log.debug("tracevis: on_chain_start failed", exc_info=True)

    def _start_run(self, run_id: Any, inputs: Any, name: Any) -> None:
        from . import get_client

        self._root = run_id
        c = get_client()
        if not c.enabled:
            self.run = NullRun(str(name or "LangGraph"))
            return
        self.run = Run(
            c,
            str(name or "LangGraph"),
            inputs=inputs,
            graph_json=self._graph_json,
            metadata={"framework": "langgraph"},
        )
        _active[run_id] = self

    def on_chain_end(self, outputs: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        try:
            visit = self._visits.pop(run_id, None)
            self._owner.pop(run_id, None)
            if visit is not None:
                self._end_visit(visit, "completed", outputs, None)
            elif run_id == self._root:
                self._end_run(outputs, None)
        except Exception:
            log.debug("tracevis: on_chain_end failed", exc_info=True)

    def on_chain_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        try:
            visit = self._visits.pop(run_id, None)
            self._owner.pop(run_id, None)
            control = _is_control_flow(error)
            if visit is not None:
                if control:
                    self._end_visit(visit, "completed", None, None, interrupted=type(error).__name__)
                else:
                    self._end_visit(visit, "failed", None, error_text(error))
            elif run_id == self._root:
                self._end_run(None, None if control else error)
        except Exception:
            log.debug("tracevis: on_chain_error failed", exc_info=True)

    def _end_visit(self, visit: _NodeVisit, event_type: str, outputs: Any, error: str | None, interrupted: str | None = None) -> None:
        t = _time_ns()
        meta: dict = {}
        if visit.step is not None:
            meta["langgraph_step"] = visit.step
        if visit.attempt > 1:
            meta["attempt"] = visit.attempt
        if visit.llm_calls:
            meta["llm_calls"] = visit.llm_calls
            meta["tokens"] = visit.tokens
        if interrupted:
            meta["interrupted"] = True
            meta["control_flow"] = interrupted
        self._last_node = visit.node_id
        if self.run is not None:
            self.run._event(
                visit.node_id,
                event_type,
                t,
                (t - visit.t0) / 1e6,
                None,
                None if outputs is None else capture(outputs),
                error,
                to_json(meta) if meta else None,
            )

    def _end_run(self, outputs: Any, error: BaseException | None) -> None:
        _active.pop(self._root, None)
        run = self.run
        if run is None:
            return
        if outputs is not None:
            run.final_state = outputs
        run.complete(error)

    # -- descendants: LLMs, tools, retrievers -----------------------------------

    def _adopt(self, run_id: Any, parent_run_id: Any) -> None:
        owner = self._owner.get(parent_run_id)
        if owner is not None:
            self._owner[run_id] = owner

    def on_llm_start(self, serialized: Any, prompts: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        try:
            self._adopt(run_id, parent_run_id)
        except Exception:
            pass

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        try:
            self._adopt(run_id, parent_run_id)
        except Exception:
            pass

    def on_llm_end(self, response: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        try:
            owner = self._owner.pop(run_id, None) or self._owner.get(parent_run_id)
            if owner is None:
                return
            tokens = _tokens_of(response)
            with self._lock:
                owner.llm_calls += 1
                if tokens:
                    owner.tokens += tokens
        except Exception:
            log.debug("tracevis: on_llm_end failed", exc_info=True)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._owner.pop(run_id, None)

    def on_tool_start(self, serialized: Any, input_str: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        try:
            self._adopt(run_id, parent_run_id)
        except Exception:
            pass

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._owner.pop(run_id, None)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._owner.pop(run_id, None)

    def on_retriever_start(self, serialized: Any, query: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        try:
            self._adopt(run_id, parent_run_id)
        except Exception:
            pass

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._owner.pop(run_id, None)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._owner.pop(run_id, None)

    # -- from the loop hooks ----------------------------------------------------

    def _step_snapshot(self, loop: Any) -> None:
        run = self.run
        if run is None:
            return
        from langgraph.pregel._io import read_channels

        keys = loop.stream_keys
        state = read_channels(loop.channels, keys)
        node = self._last_node
        if node is None:
            names = [getattr(t, "name", None) for t in loop.tasks.values()]
            node = next((n for n in names if n), "__step__")
        run._snapshot_json(node, _time_ns(), capture(state))

    def _cached(self, loop: Any, task_id: Any, writes: Any) -> None:
        run = self.run
        if run is None:
            return
        task = loop.tasks.get(task_id)
        if task is None:
            return
        name = str(getattr(task, "name", "node"))
        outputs = None
        try:
            keys = loop.stream_keys
            keep = (lambda ch: ch == keys) if isinstance(keys, str) else set(keys).__contains__
            outputs = capture({str(ch): v for ch, v in writes if keep(ch)})
        except Exception:
            pass
        self._last_node = name
        run._event(name, "cached", _time_ns(), 0.0, None, outputs, None, None)


def _graph_json(graph: Any) -> str | None:
    cached = graph.__dict__.get("_tracevis_graph_json") if hasattr(graph, "__dict__") else None
    if cached is not None:
        return cached or None
    text = ""
    try:
        g = graph.get_graph()
        nodes = [{"id": str(n.id)} for n in g.nodes.values()]
        edges = []
        for e in g.edges:
            edge = {"from": str(e.source), "to": str(e.target)}
            if e.data is not None:
                edge["label"] = str(e.data)
            edges.append(edge)
        text = to_json({"nodes": nodes, "edges": edges})
    except Exception:
        log.debug("tracevis: cannot read the graph's structure", exc_info=True)
    try:
        graph.__dict__["_tracevis_graph_json"] = text
    except Exception:
        pass
    return text or None


def _has_handler(callbacks: Any) -> bool:
    if callbacks is None:
        return False
    handlers = callbacks if isinstance(callbacks, list) else getattr(callbacks, "handlers", None) or []
    return any(isinstance(h, TracevisCallbackHandler) for h in handlers)


def _with_handler(callbacks: Any, handler: TracevisCallbackHandler) -> Any:
    if callbacks is None:
        return [handler]
    if isinstance(callbacks, list):
        return [*callbacks, handler]
    manager = callbacks.copy()
    manager.add_handler(handler, inherit=True)
    return manager


def _prepare(graph: Any, config: Any) -> Any:
    """``config`` with a fresh handler added, or ``None`` to leave the call alone."""
    from . import get_client

    if not get_client().enabled:
        return None
    if config is not None and not isinstance(config, dict):
        return None
    conf = (config or {}).get("configurable") or {}
    if _TASK_ID_KEY in conf:
        return None  # a subgraph running as another graph's node
    try:
        from langchain_core.runnables.config import var_child_runnable_config

        parent = var_child_runnable_config.get()
    except Exception:
        parent = None
    if parent and _TASK_ID_KEY in (parent.get("configurable") or {}):
        return None  # invoked from inside a node: part of that node's visit
    if _has_handler((config or {}).get("callbacks")) or (parent and _has_handler(parent.get("callbacks"))):
        return None
    handler = TracevisCallbackHandler(_graph_json(graph))
    new = dict(config or {})
    new["callbacks"] = _with_handler(new.get("callbacks"), handler)
    return new


def instrument() -> bool:
    if _patches:
        return True
    try:
        from langgraph.pregel import Pregel
    except ImportError:
        warn_once("lg-missing", "tracevis: langgraph is not installed; nothing to instrument")
        return False
    if _Base is object:
        warn_once("lg-core", "tracevis: langchain-core is not importable; LangGraph not instrumented")
        return False
    try:
        orig_stream = Pregel.__dict__["stream"]
        orig_astream = Pregel.__dict__["astream"]

        def stream(self: Any, input: Any, config: Any = None, *args: Any, **kwargs: Any) -> Any:
            try:
                new = _prepare(self, config)
            except Exception:
                log.debug("tracevis: cannot prepare a LangGraph run", exc_info=True)
                new = None
            return orig_stream(self, input, config if new is None else new, *args, **kwargs)

        def astream(self: Any, input: Any, config: Any = None, *args: Any, **kwargs: Any) -> Any:
            try:
                new = _prepare(self, config)
            except Exception:
                log.debug("tracevis: cannot prepare a LangGraph run", exc_info=True)
                new = None
            return orig_astream(self, input, config if new is None else new, *args, **kwargs)

        for fn, orig in ((stream, orig_stream), (astream, orig_astream)):
            fn.__doc__ = orig.__doc__
            fn.__name__ = orig.__name__
            fn.__qualname__ = orig.__qualname__
            fn.__wrapped__ = orig  # type: ignore[attr-defined]
        _patch(Pregel, "stream", stream)
        _patch(Pregel, "astream", astream)
        _instrument_loop()
        return True
    except Exception:
        uninstrument()
        log.warning("tracevis: could not instrument LangGraph", exc_info=True)
        return False


def _instrument_loop() -> None:
    """Optional: per-step state and cache hits, from the loop's internals."""
    try:
        from langgraph.pregel import _io
        from langgraph.pregel._loop import PregelLoop

        if not callable(getattr(_io, "read_channels", None)):
            raise ImportError("read_channels")
    except Exception:
        warn_once("lg-loop", "tracevis: LangGraph loop internals changed; recording without per-step state")
        return
    orig_after_tick = PregelLoop.__dict__.get("after_tick")
    orig_put_writes = PregelLoop.__dict__.get("put_writes")

    def _handler_of(loop: Any) -> TracevisCallbackHandler | None:
        if not _active:
            return None
        manager = getattr(loop, "manager", None)
        return _active.get(getattr(manager, "run_id", None))

    if orig_after_tick is not None:

        def after_tick(self: Any) -> Any:
            result = orig_after_tick(self)
            try:
                h = _handler_of(self)
                if h is not None:
                    h._step_snapshot(self)
            except Exception:
                log.debug("tracevis: step snapshot failed", exc_info=True)
            return result

        _patch(PregelLoop, "after_tick", after_tick)

    if orig_put_writes is not None:

        def put_writes(self: Any, task_id: str, writes: Any, *, cached: bool = False) -> Any:
            result = orig_put_writes(self, task_id, writes, cached=cached)
            if cached:
                try:
                    h = _handler_of(self)
                    if h is not None:
                        h._cached(self, task_id, writes)
                except Exception:
                    log.debug("tracevis: cached record failed", exc_info=True)
            return result

        _patch(PregelLoop, "put_writes", put_writes)
