"""Recording pydantic-graph runs.

pydantic-graph v2 (``GraphBuilder`` graphs, ``pydantic-graph>=2``): the hooks are

* ``GraphRun.__aenter__`` / ``__aexit__``: one tracevis run per graph run
  (``Graph.run``, ``run_sync`` and ``iter`` all go through them); graph type =
  the graph's name, the declared graph from ``Graph.nodes``/``edges_by_source``;
* ``_GraphIterator._run_task``: one node visit per ``Step`` task (``BaseNode``
  classes run as ``NodeStep``\\s), with a state snapshot after each;
* the ``Step.call`` property: hands out a wrapper capturing the step's raw
  return value (the next node, ``End``, or a step output) for the visit
  running it, and the original function everywhere else.

The legacy ``Graph(nodes=...)`` API of pydantic-graph 1.x (whose 1.x releases
also ship the builder API, instrumented as above): ``Graph.iter`` (one run)
and ``GraphRun.next`` (one visit per node; the node's fields are its inputs,
the next node or ``End`` its output).

All wrappers catch their own errors and re-raise the user's unchanged.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
from typing import Any

from ._client import warn_once
from ._run import NullRun, Run, error_text
from ._serialize import capture, to_json

log = logging.getLogger("tracevis")

_patches: list[tuple[Any, str, Any]] = []
_current_visit: contextvars.ContextVar = contextvars.ContextVar("tracevis_pg_visit", default=None)
_time_ns = __import__("time").time_ns


def _patch(owner: Any, name: str, new: Any) -> None:
    _patches.append((owner, name, owner.__dict__[name]))
    setattr(owner, name, new)


def uninstrument() -> None:
    while _patches:
        owner, name, old = _patches.pop()
        setattr(owner, name, old)


def instrument() -> bool:
    if _patches:
        return True
    try:
        import pydantic_graph
    except ImportError:
        warn_once("pg-missing", "tracevis: pydantic-graph is not installed; nothing to instrument")
        return False
    try:
        done = False
        if hasattr(pydantic_graph, "GraphBuilder") and _has_v2_hooks():
            _instrument_v2()  # the GraphBuilder API (2.x, and 1.x's builder)
            done = True
        if _has_v1_hooks():
            _instrument_v1()  # the legacy Graph(nodes=...) API of 1.x
            done = True
        if done:
            return True
        warn_once("pg-unknown", "tracevis: this pydantic-graph version has no known hook points; not instrumented")
    except Exception:
        uninstrument()
        log.warning("tracevis: could not instrument pydantic-graph", exc_info=True)
    return False


def _client_run(graph_type: str, **kwargs: Any) -> Run:
    from . import get_client

    c = get_client()
    if not c.enabled:
        return NullRun(graph_type)
    return Run(c, graph_type, **kwargs)


def _node_fields(node: Any) -> Any:
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return {f.name: getattr(node, f.name, None) for f in dataclasses.fields(node)}
    return node


# ---------------------------------------------------------------------------
# v2


def _has_v2_hooks() -> bool:
    try:
        from pydantic_graph import graph_builder, step

        return (
            hasattr(graph_builder, "_GraphIterator")
            and "_run_task" in graph_builder._GraphIterator.__dict__
            and "__aenter__" in graph_builder.GraphRun.__dict__
            and "__aexit__" in graph_builder.GraphRun.__dict__
            and isinstance(step.Step.__dict__.get("call"), property)
        )
    except Exception:
        return False


class _PGVisit:
    __slots__ = ("step", "output", "captured")

    def __init__(self, step: Any) -> None:
        self.step = step
        self.output: str | None = None
        self.captured = False


def _graph_definition_v2(graph: Any) -> str | None:
    """nodes/edges of a built v2 graph; Decision and Fork nodes are routing, not
    nodes, so edges go through them to the nodes they lead to."""
    cached = getattr(graph, "_tracevis_graph_json", None)
    if cached is not None:
        return cached or None
    try:
        from pydantic_graph.decision import Decision
        from pydantic_graph.node import Fork
        from pydantic_graph.paths import DestinationMarker, LabelMarker

        raw: dict[str, list[tuple[str, str | None]]] = {}

        def collect(source: str, path: Any) -> None:
            label = None
            for item in path.items:
                if isinstance(item, LabelMarker):
                    label = item.label
                elif isinstance(item, DestinationMarker):
                    raw.setdefault(source, []).append((str(item.destination_id), label))

        for source, paths in graph.edges_by_source.items():
            for path in paths:
                collect(str(source), path)
        for node_id, node in graph.nodes.items():
            if isinstance(node, Decision):
                for branch in node.branches:
                    collect(str(node_id), branch.path)
        routing = {str(k) for k, n in graph.nodes.items() if isinstance(n, (Decision, Fork))}
        nodes = [{"id": str(k)} for k in graph.nodes if str(k) not in routing]
        edges: list[dict] = []
        seen: set = set()
        for source in [n["id"] for n in nodes]:
            stack = list(raw.get(source, []))
            visited: set = set()
            while stack:
                dest, label = stack.pop(0)
                if dest in routing:
                    if dest not in visited:
                        visited.add(dest)
                        stack.extend((d, label or lab) for d, lab in raw.get(dest, []))
                    continue
                key = (source, dest)
                if key in seen:
                    continue
                seen.add(key)
                edge = {"from": source, "to": dest}
                if label:
                    edge["label"] = str(label)
                edges.append(edge)
        text = to_json({"nodes": nodes, "edges": edges})
    except Exception:
        log.debug("tracevis: cannot read the graph's structure", exc_info=True)
        text = ""
    try:
        graph._tracevis_graph_json = text
    except Exception:
        pass
    return text or None


def _instrument_v2() -> None:
    from pydantic_graph import graph_builder, step
    from pydantic_graph.basenode import BaseNode, End

    GraphRun = graph_builder.GraphRun
    GraphIterator = graph_builder._GraphIterator
    Step = step.Step
    NodeStep = step.NodeStep

    orig_aenter = GraphRun.__dict__["__aenter__"]
    orig_aexit = GraphRun.__dict__["__aexit__"]
    orig_run_task = GraphIterator.__dict__["_run_task"]
    orig_call = Step.__dict__["call"]

    def start(graph_run: Any) -> None:
        graph = graph_run.graph
        name = getattr(graph, "name", None) or "pydantic_graph"
        run = _client_run(
            str(name),
            inputs=graph_run.inputs,
            graph_json=_graph_definition_v2(graph),
            initial_state=graph_run.state,
            metadata={"framework": "pydantic-graph"},
        )
        graph_run._tracevis_run = run
        it = getattr(graph_run, "_iterator_instance", None)
        if it is not None:
            it._tracevis_run = run

    def finish(graph_run: Any, exc: BaseException | None) -> None:
        run = graph_run.__dict__.get("_tracevis_run")
        if run is None:
            return
        state = graph_run.state
        if state is not None:
            run.final_state = state
        else:
            run.final_state = {"output": graph_run.output}
        run.complete(exc)

    async def __aenter__(self: Any) -> Any:
        try:
            start(self)
        except Exception:
            log.debug("tracevis: cannot start a pydantic-graph run", exc_info=True)
        try:
            return await orig_aenter(self)
        except BaseException as e:
            try:
                finish(self, e)
            except Exception:
                log.debug("tracevis: cannot finish a pydantic-graph run", exc_info=True)
            raise

    async def __aexit__(self: Any, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            suppressed = await orig_aexit(self, exc_type, exc, tb)
        except BaseException as e:
            try:
                finish(self, e)
            except Exception:
                log.debug("tracevis: cannot finish a pydantic-graph run", exc_info=True)
            raise
        try:
            finish(self, None if suppressed else exc)
        except Exception:
            log.debug("tracevis: cannot finish a pydantic-graph run", exc_info=True)
        return suppressed

    async def _run_task(self: Any, task: Any) -> Any:
        run = self.__dict__.get("_tracevis_run")
        node = None
        if run is not None:
            try:
                node = self.graph.nodes.get(task.node_id)
                if not isinstance(node, Step):
                    node = None
            except Exception:
                node = None
        if node is None:
            return await orig_run_task(self, task)
        node_id = str(node.id)
        t0 = _time_ns()
        try:
            inputs = task.inputs
            inputs_json = capture(_node_fields(inputs) if isinstance(node, NodeStep) else inputs)
            run._event(node_id, "started", t0, None, inputs_json)
        except Exception:
            inputs_json = None
            log.debug("tracevis: node start failed", exc_info=True)
        visit = _PGVisit(node)
        token = _current_visit.set(visit)
        try:
            result = await orig_run_task(self, task)
        except BaseException as e:
            try:
                t1 = _time_ns()
                run._event(node_id, "failed", t1, (t1 - t0) / 1e6, None, None, error_text(e))
                _snapshot(run, node_id, self.state)
            except Exception:
                log.debug("tracevis: node failure not recorded", exc_info=True)
            raise
        finally:
            try:
                _current_visit.reset(token)
            except Exception:
                pass
        try:
            t1 = _time_ns()
            run._event(node_id, "completed", t1, (t1 - t0) / 1e6, None, visit.output)
            _snapshot(run, node_id, self.state)
        except Exception:
            log.debug("tracevis: node end not recorded", exc_info=True)
        return result

    def _output_json(out: Any) -> str:
        if isinstance(out, End):
            return capture({"end": out.data})
        if isinstance(out, BaseNode):
            try:
                next_id = type(out).get_node_id()
            except Exception:
                next_id = type(out).__name__
            return capture({"next": next_id, "args": _node_fields(out)})
        return capture(out)

    def _call_get(self: Any) -> Any:
        fn = orig_call.fget(self)
        visit = _current_visit.get()
        if visit is None or visit.step is not self or visit.captured:
            return fn
        visit.captured = True

        async def call_and_capture(ctx: Any) -> Any:
            out = await fn(ctx)
            try:
                visit.output = _output_json(out)
            except Exception:
                log.debug("tracevis: output not recorded", exc_info=True)
            return out

        return call_and_capture

    _patch(GraphRun, "__aenter__", __aenter__)
    _patch(GraphRun, "__aexit__", __aexit__)
    _patch(GraphIterator, "_run_task", _run_task)
    _patch(Step, "call", property(_call_get, doc=orig_call.__doc__))


def _snapshot(run: Run, node_id: str, state: Any) -> None:
    if state is None:
        return
    run._snapshot_json(node_id, _time_ns(), capture(state))


# ---------------------------------------------------------------------------
# The legacy BaseNode API of pydantic-graph 1.x: Graph(nodes=...),
# graph.run(StartNode(), state=...). Removed in 2.0.


def _has_v1_hooks() -> bool:
    try:
        import importlib

        graph_mod = importlib.import_module("pydantic_graph.graph")
        return "next" in graph_mod.GraphRun.__dict__ and "iter" in graph_mod.Graph.__dict__
    except Exception:
        return False


def _graph_definition_v1(graph: Any) -> str | None:
    cached = getattr(graph, "_tracevis_graph_json", None)
    if cached is not None:
        return cached or None
    try:
        nodes = []
        edges = []
        has_end = False
        for node_id, node_def in graph.node_defs.items():
            nodes.append({"id": str(node_id)})
            for next_id, edge in node_def.next_node_edges.items():
                e = {"from": str(node_id), "to": str(next_id)}
                if getattr(edge, "label", None):
                    e["label"] = str(edge.label)
                edges.append(e)
            if node_def.end_edge is not None:
                has_end = True
                e = {"from": str(node_id), "to": "End"}
                if getattr(node_def.end_edge, "label", None):
                    e["label"] = str(node_def.end_edge.label)
                edges.append(e)
        if has_end:
            nodes.append({"id": "End"})
        text = to_json({"nodes": nodes, "edges": edges})
    except Exception:
        log.debug("tracevis: cannot read the graph's structure", exc_info=True)
        text = ""
    try:
        graph._tracevis_graph_json = text
    except Exception:
        pass
    return text or None


def _instrument_v1() -> None:
    import importlib
    import inspect
    from contextlib import asynccontextmanager

    graph_mod = importlib.import_module("pydantic_graph.graph")
    from pydantic_graph.basenode import BaseNode, End

    Graph = graph_mod.Graph
    GraphRun = graph_mod.GraphRun
    orig_iter = Graph.__dict__["iter"]
    orig_next = GraphRun.__dict__["next"]

    def finish(graph_run: Any, exc: BaseException | None) -> None:
        run = graph_run.__dict__.get("_tracevis_run")
        if run is None:
            return
        state = getattr(graph_run, "state", None)
        if state is not None:
            run.final_state = state
        else:
            nxt = getattr(graph_run, "next_node", None)
            run.final_state = {"output": nxt.data if isinstance(nxt, End) else None}
        run.complete(exc)

    @asynccontextmanager
    async def iter(self: Any, start_node: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("infer_name", True) and getattr(self, "name", None) is None:
            try:
                frame = inspect.currentframe()
                # this generator's frame -> asynccontextmanager's __aenter__ -> the caller
                self._infer_name(frame.f_back if frame is not None else None)
            except Exception:
                pass
            kwargs["infer_name"] = False
        async with orig_iter(self, start_node, *args, **kwargs) as graph_run:
            try:
                graph_run._tracevis_run = _client_run(
                    str(getattr(self, "name", None) or "pydantic_graph"),
                    inputs=_node_fields(start_node) if isinstance(start_node, BaseNode) else None,
                    graph_json=_graph_definition_v1(self),
                    initial_state=getattr(graph_run, "state", None),
                    metadata={"framework": "pydantic-graph"},
                )
            except Exception:
                log.debug("tracevis: cannot start a pydantic-graph run", exc_info=True)
            try:
                yield graph_run
            except BaseException as e:
                try:
                    finish(graph_run, e)
                except Exception:
                    pass
                raise
            try:
                finish(graph_run, None)
            except Exception:
                log.debug("tracevis: cannot finish a pydantic-graph run", exc_info=True)

    async def next(self: Any, node: Any = None) -> Any:
        run = self.__dict__.get("_tracevis_run")
        current = node if node is not None else getattr(self, "next_node", None)
        if run is None or not isinstance(current, BaseNode):
            return await orig_next(self, node)
        try:
            node_id = str(current.get_node_id())
            inputs_json = capture(_node_fields(current))
            t0 = _time_ns()
            run._event(node_id, "started", t0, None, inputs_json)
        except Exception:
            return await orig_next(self, node)
        try:
            out = await orig_next(self, node)
        except BaseException as e:
            try:
                t1 = _time_ns()
                run._event(node_id, "failed", t1, (t1 - t0) / 1e6, None, None, error_text(e))
                _snapshot(run, node_id, getattr(self, "state", None))
            except Exception:
                pass
            raise
        try:
            t1 = _time_ns()
            if isinstance(out, End):
                outputs = capture({"end": out.data})
            else:
                outputs = capture({"next": type(out).get_node_id(), "args": _node_fields(out)})
            run._event(node_id, "completed", t1, (t1 - t0) / 1e6, None, outputs)
            _snapshot(run, node_id, getattr(self, "state", None))
        except Exception:
            log.debug("tracevis: node end not recorded", exc_info=True)
        return out

    _patch(Graph, "iter", iter)
    _patch(GraphRun, "next", next)
