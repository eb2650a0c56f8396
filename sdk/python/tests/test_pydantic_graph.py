"""tracevis.instrument_pydantic_graph() with the GraphBuilder API (pydantic-graph 2.x)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

pytest.importorskip("pydantic_graph")

from pydantic_graph import BaseNode, End, GraphBuilder, GraphRunContext, StepContext  # noqa: E402

import tracevis  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def instrumented():
    assert tracevis.instrument_pydantic_graph()
    yield
    tracevis.uninstrument_pydantic_graph()


@dataclass
class Counter:
    count: int = 0
    history: list = field(default_factory=list)
    fail_at: int | None = None


class CountError(Exception):
    pass


@dataclass
class Increment(BaseNode[Counter, None, int]):
    by: int

    async def run(self, ctx: GraphRunContext[Counter]) -> Check:
        ctx.state.count += self.by
        ctx.state.history.append(f"+{self.by}")
        if ctx.state.fail_at is not None and ctx.state.count >= ctx.state.fail_at:
            raise CountError(f"count reached {ctx.state.count}")
        return Check()


@dataclass
class Check(BaseNode[Counter, None, int]):
    async def run(self, ctx: GraphRunContext[Counter]) -> Increment | End[int]:
        if ctx.state.count < 3:
            return Increment(by=1)
        return End(ctx.state.count * 10)


def build_counter(name: str):
    g = GraphBuilder(name=name, state_type=Counter, input_type=int, output_type=int)

    @g.step
    async def begin(ctx: StepContext[Counter, None, int]) -> Increment:
        ctx.state.history.append("begin")
        return Increment(by=ctx.inputs)

    g.add(g.edge_from(g.start_node).to(begin))
    g.add_reachable(Increment)
    return g.build()


def kinds(trace):
    return [(e["node_id"], e["event_type"]) for e in trace["node_events"]]


def test_basenode_graph_with_a_loop(api, graph_type):
    graph = build_counter(graph_type)
    state = Counter()
    assert graph.run_sync(state=state, inputs=1) == 30
    assert tracevis.flush(10)

    trace = api.only_run(graph_type)
    assert trace["status"] == "completed"
    assert trace["original_inputs"] == {"value": 1}
    visits = ["begin", "Increment", "Check", "Increment", "Check", "Increment", "Check"]
    assert kinds(trace) == [(n, t) for n in visits for t in ("started", "completed")]
    ev = trace["node_events"]
    assert ev[0]["inputs"] == {"value": 1}
    assert ev[1]["outputs"] == {"next": "Increment", "args": {"by": 1}}
    assert ev[2]["inputs"] == {"by": 1}  # a BaseNode's inputs are its fields
    assert ev[3]["outputs"] == {"next": "Check", "args": {}}
    assert ev[-1]["outputs"] == {"end": 30}
    assert all(e["duration_ms"] >= 0 for e in ev if e["event_type"] == "completed")

    snaps = trace["state_snapshots"]
    assert [s["node_id"] for s in snaps] == ["__start__"] + visits  # initial state, then one per node
    assert snaps[0]["state"] == {"count": 0, "history": [], "fail_at": None}
    assert [s["state"]["count"] for s in snaps] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert snaps[2]["state"]["history"] == ["begin", "+1"]  # serialized when taken, not at the end
    assert trace["final_state"] == {"count": 3, "history": ["begin", "+1", "+1", "+1"], "fail_at": None}

    nodes = {n["id"] for n in trace["graph"]["nodes"]}
    edges = {(e["from"], e["to"]) for e in trace["graph"]["edges"]}
    assert {"begin", "Increment", "Check"} <= nodes
    assert {("__start__", "begin"), ("begin", "Increment"), ("Increment", "Check"), ("Check", "Increment"), ("Check", "__end__")} <= edges


def test_failing_node_fails_the_run_and_reraises_unchanged(api, graph_type):
    graph = build_counter(graph_type)
    with pytest.raises(CountError, match="count reached 2") as caught:
        graph.run_sync(state=Counter(fail_at=2), inputs=1)
    assert type(caught.value) is CountError
    assert tracevis.flush(10)

    trace = api.only_run(graph_type)
    assert trace["status"] == "failed"
    assert trace["error"] == "CountError: count reached 2"
    assert kinds(trace)[-2:] == [("Increment", "started"), ("Increment", "failed")]
    failed = trace["node_events"][-1]
    assert failed["error"] == "CountError: count reached 2"
    assert trace["state_snapshots"][-1]["state"]["count"] == 2  # the state the failure left
    assert trace["final_state"]["count"] == 2


def test_async_run_iter_and_parallel_map(api, graph_type):
    g = GraphBuilder(name=graph_type, state_type=Counter, input_type=list, output_type=list)

    @g.step
    async def square(ctx: StepContext[Counter, None, int]) -> int:
        await asyncio.sleep(0.01)
        ctx.state.count += 1
        return ctx.inputs * ctx.inputs

    collect = g.join(lambda acc, x: [*acc, x], initial_factory=list, node_id="collect")

    @g.step
    async def total(ctx: StepContext[Counter, None, list]) -> list:
        return sorted(ctx.inputs)

    g.add(
        g.edge_from(g.start_node).map().to(square),
        g.edge_from(square).to(collect),
        g.edge_from(collect).to(total),
        g.edge_from(total).to(g.end_node),
    )
    graph = g.build()

    async def main():
        out1 = await graph.run(state=Counter(), inputs=[1, 2, 3])
        async with graph.iter(state=Counter(), inputs=[4]) as graph_run:
            async for _ in graph_run:
                pass
        return out1, graph_run.output

    assert asyncio.run(main()) == ([1, 4, 9], [16])
    assert tracevis.flush(10)
    runs = [api.trace(r["execution_id"]) for r in api.runs(graph_type)]
    assert sorted(len(t["node_events"]) for t in runs) == [4, 8]
    big = max(runs, key=lambda t: len(t["node_events"]))
    assert big["status"] == "completed"
    squares = [e for e in big["node_events"] if e["node_id"] == "square"]
    assert sorted(e["inputs"]["value"] for e in squares if e["event_type"] == "started") == [1, 2, 3]
    assert sorted(e["outputs"]["value"] for e in squares if e["event_type"] == "completed") == [1, 4, 9]
    total_done = [e for e in big["node_events"] if e["node_id"] == "total" and e["event_type"] == "completed"]
    assert total_done[0]["outputs"] == {"value": [1, 4, 9]}
    assert big["final_state"]["count"] == 3
    nodes = {n["id"] for n in big["graph"]["nodes"]}
    assert {"square", "collect", "total"} <= nodes


def test_name_is_inferred_from_the_variable_when_not_given(api):
    g = GraphBuilder(state_type=Counter, input_type=int, output_type=int)

    @g.step
    async def only(ctx: StepContext[Counter, None, int]) -> int:
        return ctx.inputs + 1

    g.add(g.edge_from(g.start_node).to(only), g.edge_from(only).to(g.end_node))
    inferred_name_graph = g.build()
    assert inferred_name_graph.run_sync(state=Counter(), inputs=1) == 2
    assert tracevis.flush(10)
    trace = api.only_run("inferred_name_graph")
    assert kinds(trace) == [("only", "started"), ("only", "completed")]


def test_graph_without_state_records_the_output_as_final_state(api, graph_type):
    g = GraphBuilder(name=graph_type, input_type=str, output_type=str)

    @g.step
    async def shout(ctx: StepContext[None, None, str]) -> str:
        return ctx.inputs.upper()

    g.add(g.edge_from(g.start_node).to(shout), g.edge_from(shout).to(g.end_node))
    assert g.build().run_sync(inputs="hey") == "HEY"
    assert tracevis.flush(10)
    trace = api.only_run(graph_type)
    assert trace["status"] == "completed"
    assert trace["final_state"] == {"output": "HEY"}
    assert trace["state_snapshots"] == []


def _fork_join_graph(name: str, delays: dict[str, float]):
    """plan → web, docs and code searched at once → merge (a join) → answer."""
    g = GraphBuilder(name=name, state_type=Counter, input_type=str, output_type=list)

    @g.step
    async def plan(ctx: StepContext[Counter, None, str]) -> str:
        return ctx.inputs

    def source(node_id: str):
        async def search(ctx: StepContext[Counter, None, str]) -> str:
            await asyncio.sleep(delays[node_id])
            return node_id

        return g.step(search, node_id=node_id)

    web, docs, code = source("web"), source("docs"), source("code")
    merge = g.join(lambda acc, x: [*acc, x], initial_factory=list, node_id="merge")

    @g.step
    async def answer(ctx: StepContext[Counter, None, list]) -> list:
        return sorted(ctx.inputs)

    g.add(
        g.edge_from(g.start_node).to(plan),
        g.edge_from(plan).to(web, docs, code),
        g.edge_from(web, docs, code).to(merge),
        g.edge_from(merge).to(answer),
        g.edge_from(answer).to(g.end_node),
    )
    return g.build()


def test_a_fork_join_runs_its_branches_side_by_side_and_compares_cleanly_with_another_order(api, graph_type):
    # Run a: web is the slow branch; run b: code is, and the branches end
    # in another order.
    slow_web = _fork_join_graph(graph_type, {"web": 0.30, "docs": 0.05, "code": 0.10})
    slow_code = _fork_join_graph(graph_type, {"web": 0.10, "docs": 0.05, "code": 0.30})
    assert asyncio.run(slow_web.run(state=Counter(), inputs="q")) == ["code", "docs", "web"]
    assert asyncio.run(slow_code.run(state=Counter(), inputs="q")) == ["code", "docs", "web"]
    assert tracevis.flush(10)
    a, b = sorted(api.runs(graph_type), key=lambda r: r["start_time"])

    # The branches ran side by side: each started before any of them ended.
    trace = api.trace(a["execution_id"])
    branches = [e for e in trace["node_events"] if e["node_id"] in ("web", "docs", "code")]
    starts = [e["timestamp"] for e in branches if e["event_type"] == "started"]
    ends = [e["timestamp"] for e in branches if e["event_type"] == "completed"]
    assert len(starts) == 3 and max(starts) < min(ends)

    comparison = api.get(f"/api/v1/compare?a={a['execution_id']}&b={b['execution_id']}")
    assert comparison["first_divergence"] is None, comparison["first_divergence"]
    assert [s["node_id"] for s in comparison["aligned"]] == ["plan", "code", "docs", "web", "answer"]
    # The slow branch decided each run's duration: the compare says so, first.
    # A node on the path that took a millisecond or two longer in one run on
    # a busy machine is called out too (it did change), after them.
    changes = comparison["critical_path_changes"]
    called_out = {c["node_id"]: c["description"] for c in changes}
    assert {c["node_id"] for c in changes[:2]} == {"web", "code"}, called_out
    assert all(abs(c["duration_delta_ms"]) < 50 for c in changes[2:]), called_out
    assert called_out["web"].endswith("faster; it was on run a's critical path")
    assert called_out["code"].endswith("slower and is on run b's critical path")
