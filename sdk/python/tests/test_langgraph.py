"""tracevis.instrument_langgraph() with compiled StateGraphs."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, TypedDict

import pytest

pytest.importorskip("langgraph")

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel  # noqa: E402
from langchain_core.messages import AIMessage  # noqa: E402
from langgraph.cache.memory import InMemoryCache  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph.types import CachePolicy, RetryPolicy  # noqa: E402

import tracevis  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def instrumented():
    assert tracevis.instrument_langgraph()
    yield
    tracevis.uninstrument_langgraph()


class State(TypedDict):
    n: int
    log: Annotated[list, operator.add]
    fail_at: int
    summary: str


class SubState(TypedDict):
    n: int
    summary: str


def fake_llm(count: int = 50) -> GenericFakeChatModel:
    usage = {"input_tokens": 12, "output_tokens": 8, "total_tokens": 20}
    return GenericFakeChatModel(messages=iter([AIMessage(content=f"reply {i}", usage_metadata=usage) for i in range(count)]))


class NodeError(Exception):
    pass


def build(name: str):
    llm = fake_llm()

    sub = StateGraph(SubState)
    sub.add_node("draft", lambda s: {"summary": f"draft of {s['n']}"})
    sub.add_node("polish", lambda s: {"summary": s["summary"] + " (polished)"})
    sub.add_edge(START, "draft")
    sub.add_edge("draft", "polish")
    subgraph = sub.compile()

    def think(s: State) -> dict:
        reply = llm.invoke(f"think about {s['n']}")  # an LLM call inside a node: not a visit
        if s["n"] + 1 >= s["fail_at"]:
            raise NodeError(f"cannot think past {s['n']}")
        return {"n": s["n"] + 1, "log": [reply.content]}

    def route(s: State) -> str:  # a routing function: not a visit
        return "summarize" if s["n"] >= 3 else "think"

    b = StateGraph(State)
    b.add_node("think", think)
    b.add_node("summarize", subgraph)  # a subgraph as a node: one visit
    b.add_edge(START, "think")
    b.add_conditional_edges("think", route, {"think": "think", "summarize": "summarize"})
    b.add_edge("summarize", END)
    return b.compile(name=name)


def kinds(trace):
    return [(e["node_id"], e["event_type"]) for e in trace["node_events"]]


def test_loop_conditional_edge_subgraph_and_llm_tokens(api, graph_type):
    graph = build(graph_type)
    out = graph.invoke({"n": 0, "log": [], "fail_at": 99, "summary": ""})
    assert out["n"] == 3 and out["summary"] == "draft of 3 (polished)"
    assert tracevis.flush(10)

    trace = api.only_run(graph_type)
    assert trace["status"] == "completed"
    visits = ["think", "think", "think", "summarize"]
    assert kinds(trace) == [(n, t) for n in visits for t in ("started", "completed")]
    ev = trace["node_events"]
    assert ev[0]["inputs"] == {"n": 0, "log": [], "fail_at": 99, "summary": ""}
    assert ev[1]["outputs"] == {"n": 1, "log": ["reply 0"]}
    assert ev[1]["metadata"]["llm_calls"] == 1 and ev[1]["metadata"]["tokens"] == 20
    assert "llm_calls" not in ev[7]["metadata"]
    assert ev[7]["outputs"]["summary"] == "draft of 3 (polished)"
    assert trace["total_llm_calls"] == 3 and trace["total_tokens"] == 60

    # the state after every step: the input step, then each node's step
    snaps = trace["state_snapshots"]
    assert [s["node_id"] for s in snaps] == ["__start__"] + visits
    assert [s["state"]["n"] for s in snaps] == [0, 1, 2, 3, 3]
    assert snaps[2]["state"]["log"] == ["reply 0", "reply 1"]
    assert trace["final_state"] == out

    nodes = {n["id"] for n in trace["graph"]["nodes"]}
    edges = {(e["from"], e["to"]) for e in trace["graph"]["edges"]}
    assert nodes == {"__start__", "think", "summarize", "__end__"}  # the subgraph's nodes are not listed
    assert edges == {("__start__", "think"), ("think", "think"), ("think", "summarize"), ("summarize", "__end__")}


def test_failing_node_fails_the_run_and_reraises_unchanged(api, graph_type):
    graph = build(graph_type)
    with pytest.raises(NodeError, match="cannot think past 1") as caught:
        graph.invoke({"n": 0, "log": [], "fail_at": 2, "summary": ""})
    assert type(caught.value) is NodeError
    assert tracevis.flush(10)

    trace = api.only_run(graph_type)
    assert trace["status"] == "failed"
    assert trace["error"] == "NodeError: cannot think past 1"
    assert kinds(trace) == [("think", "started"), ("think", "completed"), ("think", "started"), ("think", "failed")]
    assert trace["node_events"][-1]["error"] == "NodeError: cannot think past 1"
    assert trace["final_state"]["n"] == 1  # the last state recorded


def test_async_and_stream_outputs_are_unchanged(api, graph_type):
    graph = build(graph_type)
    tracevis.uninstrument_langgraph()
    try:
        expected_updates = list(build("plain").stream({"n": 1, "log": [], "fail_at": 99, "summary": ""}, stream_mode="updates"))
    finally:
        tracevis.instrument_langgraph()

    updates = list(graph.stream({"n": 1, "log": [], "fail_at": 99, "summary": ""}, stream_mode="updates"))
    assert [list(u) for u in updates] == [list(u) for u in expected_updates]

    async def main():
        chunks = [c async for c in graph.astream({"n": 2, "log": [], "fail_at": 99, "summary": ""}, stream_mode="values")]
        final = await graph.ainvoke({"n": 2, "log": [], "fail_at": 99, "summary": ""})
        return chunks, final

    chunks, final = asyncio.run(main())
    assert chunks[-1]["n"] == 3 and final["n"] == 3
    assert tracevis.flush(10)
    runs = [api.trace(r["execution_id"]) for r in api.runs(graph_type)]
    assert len(runs) == 3 and all(t["status"] == "completed" for t in runs)
    assert sorted(len(t["node_events"]) for t in runs) == [4, 4, 6]


def test_graph_invoked_inside_a_node_is_part_of_that_visit(api, graph_type):
    inner_b = StateGraph(SubState)
    inner_b.add_node("inner", lambda s: {"summary": "inner ran"})
    inner_b.add_edge(START, "inner")
    inner = inner_b.compile(name=graph_type + "_inner")

    def outer_node(s: State) -> dict:
        return {"summary": inner.invoke({"n": s["n"], "summary": ""})["summary"]}

    b = StateGraph(State)
    b.add_node("outer", outer_node)
    b.add_edge(START, "outer")
    graph = b.compile(name=graph_type)
    assert graph.invoke({"n": 0, "log": [], "fail_at": 9, "summary": ""})["summary"] == "inner ran"
    # invoked on its own, the inner graph is a run of its own
    inner.invoke({"n": 5, "summary": ""})
    assert tracevis.flush(10)

    trace = api.only_run(graph_type)
    assert kinds(trace) == [("outer", "started"), ("outer", "completed")]
    assert len(api.runs(graph_type + "_inner")) == 1


def test_retries_are_attempts_and_cache_hits_are_cached(api, graph_type):
    calls = {"flaky": 0}

    def flaky(s: State) -> dict:
        calls["flaky"] += 1
        if calls["flaky"] < 3:
            raise ConnectionError("try again")
        return {"n": s["n"] + 1}

    b = StateGraph(State)
    b.add_node("expensive", lambda s: {"log": ["computed"]}, cache_policy=CachePolicy())
    b.add_node("flaky", flaky, retry_policy=RetryPolicy(max_attempts=3, initial_interval=0.01, retry_on=ConnectionError))
    b.add_edge(START, "expensive")
    b.add_edge("expensive", "flaky")
    b.add_edge("flaky", END)
    graph = b.compile(name=graph_type, cache=InMemoryCache())
    first = graph.invoke({"n": 0, "log": [], "fail_at": 9, "summary": ""})
    calls["flaky"] = 2
    second = graph.invoke({"n": 0, "log": [], "fail_at": 9, "summary": ""})
    assert first == second == {"n": 1, "log": ["computed"], "fail_at": 9, "summary": ""}
    assert tracevis.flush(10)

    runs = sorted((api.trace(r["execution_id"]) for r in api.runs(graph_type)), key=lambda t: t["start_time"])
    assert kinds(runs[0]) == [
        ("expensive", "started"),
        ("expensive", "completed"),
        ("flaky", "started"),
        ("flaky", "failed"),
        ("flaky", "started"),
        ("flaky", "failed"),
        ("flaky", "started"),
        ("flaky", "completed"),
    ]
    attempts = [e["metadata"].get("attempt", 1) for e in runs[0]["node_events"] if e["node_id"] == "flaky" and e["event_type"] != "started"]
    assert attempts == [1, 2, 3]
    assert runs[0]["status"] == "completed"
    assert kinds(runs[1]) == [("expensive", "cached"), ("flaky", "started"), ("flaky", "completed")]
    assert runs[1]["node_events"][0]["outputs"] == {"log": ["computed"]}
    assert runs[1]["cached_nodes"] == 1
