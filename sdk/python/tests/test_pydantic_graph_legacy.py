"""The legacy ``Graph(nodes=...)`` API of pydantic-graph 1.x (removed in 2.0).

Skipped with the pinned pydantic-graph 2.x; run it in an environment with
``pydantic-graph<2`` (checked with 1.107.10).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pytest

pytest.importorskip("pydantic_graph.graph", reason="pydantic-graph 2.x has no legacy Graph API")

from pydantic_graph import BaseNode, End, GraphRunContext  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from pydantic_graph.graph import Graph  # noqa: E402

import tracevis  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def instrumented():
    assert tracevis.instrument_pydantic_graph()
    yield
    tracevis.uninstrument_pydantic_graph()


@dataclass
class St:
    n: int = 0


@dataclass
class Inc(BaseNode[St]):
    by: int = 1

    async def run(self, ctx: GraphRunContext[St]) -> Chk:
        ctx.state.n += self.by
        if ctx.state.n > 5:
            raise ValueError("too big")
        return Chk()


@dataclass
class Chk(BaseNode[St, None, int]):
    async def run(self, ctx: GraphRunContext[St]) -> Inc | End[int]:
        return Inc() if ctx.state.n < 3 else End(ctx.state.n)


def test_legacy_graph_loop_and_failure(api, graph_type):
    graph = Graph(nodes=[Inc, Chk], name=graph_type)
    assert graph.run_sync(Inc(), state=St()).output == 3
    with pytest.raises(ValueError, match="too big"):
        graph.run_sync(Inc(by=10), state=St())
    assert tracevis.flush(10)
    runs = {r["status"]: api.trace(r["execution_id"]) for r in api.runs(graph_type)}
    ok, bad = runs["completed"], runs["failed"]
    assert [(e["node_id"], e["event_type"]) for e in ok["node_events"]] == [
        (n, t) for n in ["Inc", "Chk"] * 3 for t in ("started", "completed")
    ]
    assert ok["node_events"][0]["inputs"] == {"by": 1}
    assert ok["node_events"][-1]["outputs"] == {"end": 3}
    assert [s["state"]["n"] for s in ok["state_snapshots"]] == [0, 1, 1, 2, 2, 3, 3]
    assert ok["final_state"] == {"n": 3}
    assert {(e["from"], e["to"]) for e in ok["graph"]["edges"]} == {("Inc", "Chk"), ("Chk", "Inc"), ("Chk", "End")}
    assert bad["error"] == "ValueError: too big"
    assert [(e["node_id"], e["event_type"]) for e in bad["node_events"]] == [("Inc", "started"), ("Inc", "failed")]
