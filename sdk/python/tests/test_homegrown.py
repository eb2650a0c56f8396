"""tracevis.run / run.node / run.snapshot / run.cached against the real server."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import textwrap

import pytest

import tracevis
import tracevis._serialize as ser


class Boom(Exception):
    pass


def events_of(trace: dict) -> list[tuple[str, str]]:
    return [(e["node_id"], e["event_type"]) for e in trace["node_events"]]


def test_run_with_nodes_snapshots_cached_and_a_failing_node(api, graph_type):
    graph = {"nodes": [{"id": "plan"}, {"id": "fetch"}, {"id": "write"}], "edges": [("plan", "fetch"), ("fetch", "write")]}
    state = {"draft": None, "sources": []}
    error = Boom("the writer broke")
    with pytest.raises(Boom) as caught:
        with tracevis.run(graph_type, inputs={"prompt": "hi"}, graph=graph, metadata={"env": "test"}) as run:
            with run.node("plan", inputs={"prompt": "hi"}) as visit:
                state["draft"] = {"title": "a"}
                visit.outputs = {"plan": ["fetch", "write"]}
            run.snapshot("plan", state)
            run.cached("fetch", inputs={"q": "x"}, outputs={"docs": 2})
            state["sources"].append("cache")
            run.snapshot("fetch", state)
            with run.node("write", inputs={"draft": state["draft"]}):
                state["draft"]["title"] = "b"  # mutated after the snapshots were taken
                raise error
    assert caught.value is error  # re-raised unchanged

    assert tracevis.flush(10)
    trace = api.trace(run.execution_id)
    assert trace["graph_type"] == graph_type
    assert trace["status"] == "failed"
    assert trace["error"] == "Boom: the writer broke"
    assert trace["original_inputs"] == {"prompt": "hi"}
    assert trace["metadata"] == {"env": "test"}
    assert {n["id"] for n in trace["graph"]["nodes"]} == {"plan", "fetch", "write"}
    assert [(e["from"], e["to"]) for e in trace["graph"]["edges"]] == [("plan", "fetch"), ("fetch", "write")]
    assert events_of(trace) == [
        ("plan", "started"),
        ("plan", "completed"),
        ("fetch", "cached"),
        ("write", "started"),
        ("write", "failed"),
    ]
    ev = trace["node_events"]
    assert ev[0]["inputs"] == {"prompt": "hi"}
    assert ev[1]["outputs"] == {"plan": ["fetch", "write"]}
    assert ev[1]["duration_ms"] >= 0
    assert ev[2]["outputs"] == {"docs": 2}
    assert ev[4]["error"] == "Boom: the writer broke"
    assert trace["failed_nodes"] >= 1 and trace["cached_nodes"] == 1
    # seq strictly increasing, events and snapshots interleaved in recording order
    seqs = sorted([e["seq"] for e in trace["node_events"]] + [s["seq"] for s in trace["state_snapshots"]])
    assert len(set(seqs)) == len(seqs)
    snaps = trace["state_snapshots"]
    assert [s["node_id"] for s in snaps] == ["plan", "fetch"]
    assert snaps[0]["state"] == {"draft": {"title": "a"}, "sources": []}
    assert snaps[1]["state"] == {"draft": {"title": "a"}, "sources": ["cache"]}
    # final state defaults to the last snapshot's state (as it was then)
    assert trace["final_state"] == {"draft": {"title": "a"}, "sources": ["cache"]}


def test_a_fork_join_names_the_branches_its_join_waited_for(api, graph_type):
    import threading

    with tracevis.run(graph_type) as run:
        with run.node("plan") as plan:
            pass
        branches = [run.node(f"search_{name}", after=plan) for name in ("web", "docs", "code")]

        def search(visit):
            with visit:
                pass

        threads = [threading.Thread(target=search, args=(b,)) for b in branches]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        never_entered = run.node("skipped")
        with run.node("merge", after=[*branches, never_entered]):
            pass

    assert tracevis.flush(10)
    trace = api.trace(run.execution_id)
    started = {e["node_id"]: e for e in trace["node_events"] if e["event_type"] == "started"}
    assert started["plan"].get("parents", []) == []
    for name in ("web", "docs", "code"):
        assert started[f"search_{name}"]["parents"] == [plan.id]
    # The join names the three branches (by their started events), not the
    # visit that never ran; each parent resolved to the seq it was stored at.
    assert started["merge"]["parents"] == [b.id for b in branches]
    seq_of = {e["event_id"]: e["seq"] for e in trace["node_events"]}
    assert started["merge"]["parent_seqs"] == [seq_of[b.id] for b in branches]


def test_completed_run_with_explicit_final_state_llm_totals_and_attempts(api, graph_type):
    with tracevis.run(graph_type, inputs="plain text", initial_state={"n": 0}) as run:
        for attempt in (1, 2):
            try:
                with run.node("call_llm", inputs={"n": 0}, attempt=attempt) as visit:
                    visit.metadata["llm_calls"] = 1
                    visit.metadata["tokens"] = 100
                    if attempt == 1:
                        raise TimeoutError("slow model")
                    visit.outputs = "answer"  # not an object: wrapped
            except TimeoutError:
                pass
        run.snapshot("call_llm", {"n": 1})
        run.final_state = {"n": 1, "done": True}
    assert tracevis.flush(10)
    trace = api.trace(run.execution_id)
    assert trace["status"] == "completed" and trace["error"] is None
    assert trace["original_inputs"] == {"value": "plain text"}
    assert trace["final_state"] == {"n": 1, "done": True}
    assert trace["total_llm_calls"] == 2 and trace["total_tokens"] == 200
    ends = [e for e in trace["node_events"] if e["event_type"] != "started"]
    assert [(e["event_type"], e["metadata"]["attempt"]) for e in ends] == [("failed", 1), ("completed", 2)]
    assert ends[0]["error"] == "TimeoutError: slow model"
    assert ends[1]["outputs"] == {"value": "answer"}
    # initial_state is the first snapshot
    assert trace["state_snapshots"][0]["state"] == {"n": 0}
    assert [s["state"] for s in trace["state_snapshots"]] == [{"n": 0}, {"n": 1}]


def test_runs_are_listed_by_graph_type(api, graph_type):
    ids = []
    for i in range(3):
        with tracevis.run(graph_type, inputs={"i": i}) as run:
            with run.node("only"):
                pass
        ids.append(run.execution_id)
    assert tracevis.flush(10)
    runs = api.runs(graph_type)
    assert sorted(r["execution_id"] for r in runs) == sorted(ids)
    assert all(r["status"] == "completed" and r["total_nodes"] >= 1 for r in runs)


@dataclasses.dataclass
class Point:
    x: int
    tags: set


def test_awkward_values_are_recorded_not_refused(api, graph_type):
    BaseModel = pytest.importorskip("pydantic").BaseModel

    class Model(BaseModel):
        name: str
        point: tuple[int, int]

    cyclic: dict = {"a": 1}
    cyclic["self"] = cyclic
    deep: list = []
    cur = deep
    for _ in range(300):
        nxt: list = []
        cur.append(nxt)
        cur = nxt
    huge = {"blob": "x" * 3_000_000}
    with tracevis.run(graph_type) as run:
        with run.node("values") as v:
            v.outputs = {
                "model": Model(name="m", point=(1, 2)),
                "dc": Point(1, {"t"}),
                "nan": math.nan,
                "inf": math.inf,
                "bytes": b"\xffabc",
                "tuple_key": {(1, 2): "x"},
                "obj": object(),
            }
        run.snapshot("values", cyclic)
        run.snapshot("values", {"deep": deep})
        run.snapshot("values", huge)
        run.snapshot("values", Model(name="state", point=(3, 4)))
        run.snapshot("values", Point(2, set()))
    assert tracevis.flush(10)
    trace = api.trace(run.execution_id)
    out = trace["node_events"][1]["outputs"]
    assert out["model"] == {"name": "m", "point": [1, 2]}
    assert out["dc"] == {"x": 1, "tags": ["t"]}
    assert out["nan"] == "nan" and out["inf"] == "inf"
    assert out["tuple_key"] == {"(1, 2)": "x"}
    assert out["obj"].startswith("<object object")
    states = [s["state"] for s in trace["state_snapshots"]]
    assert states[0] == {"a": 1, "self": "[circular]"}
    assert json.dumps(states[1]).count("[") <= ser.MAX_DEPTH + 1
    assert states[2]["_tracevis_truncated"] is True and states[2]["original_bytes"] > 3_000_000
    assert len(json.dumps(states[2])) < 1_200_000
    assert states[3] == {"name": "state", "point": [3, 4]}
    assert states[4] == {"x": 2, "tags": []}


def test_a_record_the_server_refuses_costs_only_itself(api, graph_type):
    with tracevis.run(graph_type) as run:
        with run.node("a"):
            pass
        # an unknown event type: the server answers 422 naming events[2]
        run._event("a", "exploded", __import__("time").time_ns())
        with run.node("b"):
            pass
    assert tracevis.flush(10)
    trace = api.trace(run.execution_id)
    assert events_of(trace) == [("a", "started"), ("a", "completed"), ("b", "started"), ("b", "completed")]
    assert trace["status"] == "completed"


def test_node_ids_and_graph_types_are_kept_within_the_servers_limits(api):
    long_type = "g" * 300
    with tracevis.run(long_type) as run:
        with run.node(""):
            pass
        with run.node("n" * 500):
            pass
    assert tracevis.flush(10)
    trace = api.trace(run.execution_id)
    assert trace["graph_type"] == "g" * 256
    assert [e["node_id"] for e in trace["node_events"]] == ["unknown", "unknown", "n" * 256, "n" * 256]


def test_disabled_by_environment_records_nothing_and_keeps_the_api(tmp_path, fake_server):
    server = fake_server(lambda *a: (201, {}, b"{}"))
    script = tmp_path / "prog.py"
    script.write_text(
        textwrap.dedent(
            """
            import tracevis
            with tracevis.run("g", inputs={"a": 1}) as run:
                with run.node("n", inputs={}) as v:
                    v.outputs = {"ok": True}
                run.snapshot("n", {"s": 1})
                run.cached("m")
                run.final_state = {"s": 2}
            print("result", run.final_state, tracevis.flush(1))
            print("instrumented", tracevis.instrument_langgraph(), tracevis.instrument_pydantic_graph())
            """
        )
    )
    env = dict(os.environ, TRACEVIS_DISABLED="1", TRACEVIS_URL=server.url)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "result None True" in out.stdout
    assert "instrumented False False" in out.stdout
    assert server.requests == []


def test_token_is_sent_as_bearer_and_content_type_is_json(fake_server):
    server = fake_server(lambda *a: (201, {}, b"{}"))
    tracevis.configure(url=server.url, token="s3cret-token", queue_size=100)
    with tracevis.run("g") as run:
        with run.node("n"):
            pass
    assert tracevis.flush(5)
    assert [r[2] for r in server.requests] == [
        "/api/v1/executions",
        f"/api/v1/executions/{run.execution_id}/events",
        f"/api/v1/executions/{run.execution_id}/complete",
    ]
    for _, method, _, headers, body in server.requests:
        assert method == "POST"
        assert headers["Authorization"] == "Bearer s3cret-token"
        assert headers["Content-Type"] == "application/json"
        json.loads(body)


def test_url_and_token_default_from_the_environment(tmp_path, fake_server):
    server = fake_server(lambda *a: (201, {}, b"{}"))
    script = tmp_path / "prog.py"
    script.write_text("import tracevis\nwith tracevis.run('g'):\n    pass\n")
    env = dict(os.environ, TRACEVIS_URL=server.url, TRACEVIS_TOKEN="from-env")
    env.pop("TRACEVIS_DISABLED", None)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    # the atexit flush sent the run
    assert [r[2].rsplit("/", 1)[-1] for r in server.requests] == ["executions", "complete"]
    assert all(r[3]["Authorization"] == "Bearer from-env" for r in server.requests)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_records_through_its_own_worker(api, graph_type):
    with tracevis.run(graph_type, inputs={"who": "parent"}) as parent_run:
        with parent_run.node("before_fork"):
            pass
        pid = os.fork()
        if pid == 0:  # child
            code = 1
            try:
                with tracevis.run(graph_type, inputs={"who": "child"}) as child_run:
                    with child_run.node("in_child"):
                        pass
                code = 0 if tracevis.flush(10) else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    assert tracevis.flush(10)
    runs = {r["original_inputs"]["who"]: api.trace(r["execution_id"]) for r in api.runs(graph_type)}
    assert set(runs) == {"parent", "child"}
    assert events_of(runs["child"]) == [("in_child", "started"), ("in_child", "completed")]
    assert events_of(runs["parent"]) == [("before_fork", "started"), ("before_fork", "completed")]
