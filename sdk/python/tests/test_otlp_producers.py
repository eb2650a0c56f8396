"""Real producers over OTLP, unchanged but for the exporter's endpoint: a
pydantic-graph program exporting through logfire, and a LangGraph program
instrumented with OpenInference. Each runs in its own interpreter (both
install a global tracer provider), against the real server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import wait_until

PRODUCERS = Path(__file__).parent / "producers"


def run_producer(script: str, env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(PRODUCERS / script), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def total_runs(api) -> int:
    return api.get("/api/v1/executions?limit=1")["total"]


def finished_run(api, graph_type: str) -> dict:
    """The one run of `graph_type`, once its final status is stored."""

    def finished():
        runs = api.runs(graph_type)
        return len(runs) == 1 and runs[0]["status"] != "running" and runs[0]

    run = wait_until(finished, timeout=20, what=f"a finished {graph_type} run")
    return api.trace(run["execution_id"])


def visits(trace: dict) -> list[tuple[str, str]]:
    return [(e["node_id"], e["event_type"]) for e in trace["node_events"] if e["event_type"] != "started"]


@pytest.fixture
def logfire_env(server):
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": server, "LOGFIRE_SEND_TO_LOGFIRE": "false"}


@pytest.fixture
def openinference_env(server):
    return {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{server}/v1/traces"}


def test_a_pydantic_graph_program_exporting_through_logfire_shows_its_run(api, graph_type, logfire_env):
    before = total_runs(api)
    out = run_producer("logfire_pydantic_graph.py", logfire_env, graph_type)
    assert out.strip() == "30"

    trace = finished_run(api, graph_type)
    assert trace["status"] == "completed"
    assert visits(trace) == [("begin", "completed")] + [("Increment", "completed"), ("Check", "completed")] * 3
    assert trace["metadata"]["service.name"] == "counter-service"
    # The declared graph comes from the run span's `graph` attribute: the
    # loop goes through pydantic-graph's decision node.
    edges = {(e["from"], e["to"]) for e in trace["graph"]["edges"]}
    assert {("begin", "Increment"), ("Increment", "Check"), ("Check", "Increment"), ("Check", "__end__")} <= edges
    # logfire's log line outside the graph run is not a run of its own.
    assert total_runs(api) == before + 1


def test_a_failing_pydantic_graph_node_fails_the_run_with_its_exception(api, graph_type, logfire_env):
    out = run_producer("logfire_pydantic_graph.py", logfire_env, graph_type, "fail")
    assert "raised count reached 2" in out

    trace = finished_run(api, graph_type)
    assert trace["status"] == "failed"
    assert visits(trace)[-1] == ("Increment", "failed")
    failed = trace["node_events"][-1]
    assert failed["error"] == "ValueError: count reached 2"
    assert "Traceback" in failed["metadata"]["stacktrace"]


def test_a_langgraph_program_instrumented_with_openinference_shows_nodes_and_state(api, graph_type, openinference_env):
    run_producer("openinference_langgraph.py", openinference_env, graph_type)

    trace = finished_run(api, graph_type)
    assert trace["status"] == "completed"
    # Routing functions (`route`) are not node visits.
    assert visits(trace) == [("inc", "completed"), ("check", "completed")] * 3
    assert trace["original_inputs"] == {"n": 0, "log": [], "fail": False}
    # A state snapshot after every node, reducers applied.
    states = [(s["node_id"], s["state"]["n"], s["state"]["log"]) for s in trace["state_snapshots"]]
    assert states == [
        ("inc", 1, ["inc"]),
        ("check", 1, ["inc", "check"]),
        ("inc", 2, ["inc", "check", "inc"]),
        ("check", 2, ["inc", "check", "inc", "check"]),
        ("inc", 3, ["inc", "check", "inc", "check", "inc"]),
        ("check", 3, ["inc", "check", "inc", "check", "inc", "check"]),
    ]
    assert trace["final_state"] == {"n": 3, "log": ["inc", "check"] * 3, "fail": False}
    assert trace["metadata"]["service.name"] == "langgraph-service"


def test_a_failing_langgraph_node_fails_the_run_with_a_readable_error(api, graph_type, openinference_env):
    out = run_producer("openinference_langgraph.py", openinference_env, graph_type, "fail")
    assert "raised boom at 2" in out

    trace = finished_run(api, graph_type)
    assert trace["status"] == "failed"
    assert visits(trace)[-1] == ("inc", "failed")
    failed = trace["node_events"][-1]
    # The exception, not OpenInference's repr-plus-traceback status message.
    assert failed["error"] == "ValueError: boom at 2"
    assert trace["error"] == "ValueError: boom at 2"
