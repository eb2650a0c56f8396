"""A server that is down, failing, slow, refusing or flaky costs the program nothing.

Each scenario runs the same small "user program" (nodes with inputs, outputs
and a 1 KB state snapshot each) and checks: the same result, a small added
time per node compared with tracevis disabled, and ``flush(timeout)``
returning within its timeout.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time

import pytest

import tracevis
from tracevis._run import NullRun

from conftest import wait_until

NODES = 200
# Generous for a loaded 2-core CI machine, yet far below one network round
# trip to a stalled/absent server (seconds): nothing may wait on the network.
MAX_ADDED_MS_PER_NODE = 1.0


def user_program(record: bool = True) -> tuple[int, float]:
    state = {"items": list(range(100)), "notes": "x" * 500, "i": 0}
    t0 = time.perf_counter()
    run = tracevis.run("resilience", inputs={"n": NODES}) if record else NullRun("resilience")
    with run:
        for i in range(NODES):
            with run.node(f"node{i % 5}", inputs={"i": i}) as visit:
                state["i"] += i
                visit.outputs = {"i": i}
            run.snapshot(f"node{i % 5}", state)
    return state["i"], time.perf_counter() - t0


def baseline() -> float:
    best = min(user_program(record=False)[1] for _ in range(3))
    return best


def check_program_unaffected(flush_timeout: float = 1.0) -> None:
    base = baseline()
    result, elapsed = user_program()
    assert result == sum(range(NODES))
    added_ms = (elapsed - base) * 1000 / NODES
    assert added_ms < MAX_ADDED_MS_PER_NODE, f"{added_ms:.3f} ms added per node"
    t0 = time.monotonic()
    tracevis.flush(flush_timeout)
    assert time.monotonic() - t0 < flush_timeout + 0.5


def test_server_down_for_the_whole_program(closed_port_url, caplog):
    tracevis.configure(url=closed_port_url, queue_size=10_000)
    with caplog.at_level(logging.WARNING, logger="tracevis"):
        check_program_unaffected()
        user_program()  # a second run while the client already knows the server is down
        check_program_unaffected()
    warnings = [r for r in caplog.records if "cannot send" in r.getMessage()]
    assert len(warnings) == 1  # warned once, not per record


def test_server_answering_500_to_everything(fake_server):
    server = fake_server(lambda *a: (500, {}, b'{"error": "boom", "code": "internal"}'))
    tracevis.configure(url=server.url, queue_size=10_000)
    check_program_unaffected()

    def starts():
        return [r for r in server.requests if r[2] == "/api/v1/executions"]

    wait_until(lambda: len(starts()) >= 2, timeout=5, what="a retried start")
    # retried with backoff, not hammered: a handful of requests, all for the start
    assert len(starts()) <= 12
    assert {r[2] for r in server.requests} == {"/api/v1/executions"}
    assert starts()[1][0] - starts()[0][0] >= 0.1  # backed off before retrying


def test_server_stalling_reads_for_30_seconds(stall_server):
    tracevis.configure(url=stall_server.url, queue_size=10_000, timeout=5.0)
    check_program_unaffected(flush_timeout=0.5)
    t0 = time.monotonic()
    assert tracevis.flush(0.3) is False  # cannot be delivered: says so, on time
    assert time.monotonic() - t0 < 0.8
    assert stall_server.connections >= 1


def test_client_errors_are_not_retried(fake_server):
    server = fake_server(lambda *a: (400, {}, b'{"error": "no", "code": "bad_request"}'))
    tracevis.configure(url=server.url, queue_size=1000)
    with tracevis.run("refused") as run:
        with run.node("n"):
            pass
    assert tracevis.flush(5)
    # the start is refused once; the run's later records are not even tried
    assert [r[2] for r in server.requests] == ["/api/v1/executions"]


def test_retry_after_is_honoured_and_retries_are_deduplicated(api, graph_type, fake_server):
    """429 with Retry-After, then responses lost after the server stored the
    request: every POST is retried, the real server deduplicates."""
    import http.client
    import urllib.parse

    target = urllib.parse.urlsplit(api.url)
    seen: dict[str, int] = {}

    def proxy(fake, method, path, body, headers):
        seen[path] = seen.get(path, 0) + 1
        if seen[path] == 1:
            return 429, {"Retry-After": "1"}, b'{"error": "slow down", "code": "rate_limited"}'
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        if seen[path] == 2:  # stored, but the answer is "lost": the client must retry
            return 503, {}, b'{"error": "lost", "code": "unavailable"}'
        return resp.status, {}, payload

    server = fake_server(proxy)
    tracevis.configure(url=server.url, queue_size=1000)
    with tracevis.run(graph_type, inputs={"a": 1}) as run:
        for i in range(3):
            with run.node(f"n{i}") as v:
                v.outputs = {"i": i}
            run.snapshot(f"n{i}", {"i": i})
    assert tracevis.flush(20)

    trace = api.trace(run.execution_id)
    assert trace["status"] == "completed"
    assert [(e["node_id"], e["event_type"]) for e in trace["node_events"]] == [
        (f"n{i}", t) for i in range(3) for t in ("started", "completed")
    ]
    assert len(trace["state_snapshots"]) == 3
    start_times = [r[0] for r in server.requests if r[2] == "/api/v1/executions"]
    assert len(start_times) == 3
    assert start_times[1] - start_times[0] >= 0.95  # Retry-After: 1
    # start (201, then 200 for the identical retry), events (duplicates), complete (409 on retry)
    assert all(seen[p] == 3 for p in seen), seen


def test_queue_full_drops_oldest_and_warns_once(stall_server, caplog):
    client = tracevis.configure(url=stall_server.url, queue_size=100)
    with caplog.at_level(logging.WARNING, logger="tracevis"):
        run = tracevis.run("overflow")
        for i in range(5_000):
            with run.node("n", inputs={"i": i}):
                pass
        run.complete()
    assert len(client._q) <= 100
    assert client._dropped >= 5_000 * 2 - 100 - 50
    assert len([r for r in caplog.records if "queue full" in r.getMessage()]) == 1


def test_hooks_never_raise_into_user_code(fake_server):
    server = fake_server(lambda *a: (201, {}, b"{}"))
    tracevis.configure(url=server.url, queue_size=100)

    class Hostile:
        def __repr__(self):
            raise RuntimeError("no repr for you")

        def __getattr__(self, name):
            raise RuntimeError("no attributes either")

    with tracevis.run("hostile", inputs=Hostile(), graph="not a graph") as run:
        with run.node(Hostile(), inputs=Hostile()) as v:
            v.outputs = Hostile()
            v.metadata = None  # broken by the user
        run.snapshot("n", Hostile())
        run.final_state = Hostile()
    assert tracevis.flush(5)


SCRIPT = textwrap.dedent(
    """
    import time, tracevis
    t0 = time.perf_counter()
    state = {"items": list(range(100)), "i": 0}
    with tracevis.run("subprocess", inputs={"n": 50}) as run:
        for i in range(50):
            with run.node("step", inputs={"i": i}) as v:
                state["i"] += i
                v.outputs = {"i": i}
            run.snapshot("step", state)
    print("result", state["i"], round((time.perf_counter() - t0) * 1000, 3))
    """
)


def run_script(tmp_path, url: str, **env_extra) -> tuple[str, float]:
    script = tmp_path / "user_program.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, TRACEVIS_URL=url, TRACEVIS_EXIT_TIMEOUT="1.0", **env_extra)
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    wall = time.monotonic() - t0
    assert out.returncode == 0, out.stderr
    return out.stdout, wall


@pytest.mark.parametrize("kind", ["down", "500", "stall"])
def test_whole_program_including_exit(tmp_path, kind, closed_port_url, fake_server, stall_server):
    """The user's program, start to exit, with the atexit flush (TRACEVIS_EXIT_TIMEOUT=1)."""
    if kind == "down":
        url = closed_port_url
    elif kind == "500":
        url = fake_server(lambda *a: (500, {}, b"{}")).url
    else:
        url = stall_server.url
    base_out, base_wall = run_script(tmp_path, url, TRACEVIS_DISABLED="1")
    out, wall = run_script(tmp_path, url)
    assert out.split()[:2] == base_out.split()[:2] == ["result", str(sum(range(50)))]
    # at most the exit timeout (1 s) more, plus process noise
    assert wall < base_wall + 1.0 + 1.0, (kind, wall, base_wall)
    if kind == "down":
        assert wall < base_wall + 0.8  # nothing to wait for: gives up at once


def test_server_coming_back_later_receives_new_runs(api, graph_type, closed_port_url):
    tracevis.configure(url=closed_port_url, queue_size=1000, max_attempts=2)
    with tracevis.run(graph_type + "_lost"):
        pass
    tracevis.flush(2)
    tracevis.configure(url=api.url)  # same client, new endpoint (e.g. the server restarted)
    with tracevis.run(graph_type) as run:
        with run.node("n"):
            pass
    assert tracevis.flush(10)
    assert api.trace(run.execution_id)["status"] == "completed"


def test_large_batches_are_split_below_the_body_limit(api, graph_type):
    big_state = {"blob": "y" * 900_000}
    with tracevis.run(graph_type) as run:
        for i in range(30):  # ~27 MB of snapshots in total, over the 16 MiB body limit
            run.snapshot(f"n{i}", big_state)
    assert tracevis.flush(30)
    trace = api.trace(run.execution_id)
    assert len(trace["state_snapshots"]) == 30
    assert json.dumps(trace["final_state"]) == json.dumps(big_state)


def test_instrumented_frameworks_unaffected_by_a_stalled_server(stall_server):
    """The integrations' hooks never wait on the network either."""
    pytest.importorskip("langgraph")
    pytest.importorskip("pydantic_graph")
    from test_langgraph import build as build_langgraph
    from test_pydantic_graph import Counter, build_counter

    lg = build_langgraph("stalled_lg")
    pg = build_counter("stalled_pg")

    def run_both():
        t0 = time.perf_counter()
        a = lg.invoke({"n": 0, "log": [], "fail_at": 99, "summary": ""})["summary"]
        b = pg.run_sync(state=Counter(), inputs=1)
        return (a, b), time.perf_counter() - t0

    plain, plain_time = min((run_both() for _ in range(3)), key=lambda r: r[1])
    tracevis.configure(url=stall_server.url, queue_size=10_000)
    assert tracevis.instrument_langgraph() and tracevis.instrument_pydantic_graph()
    try:
        traced, traced_time = min((run_both() for _ in range(3)), key=lambda r: r[1])
    finally:
        tracevis.uninstrument_langgraph()
        tracevis.uninstrument_pydantic_graph()
    assert traced == plain == ("draft of 3 (polished)", 30)
    # 11 node visits in all; a generous bound that a single network wait would break
    assert traced_time - plain_time < 0.1, (traced_time, plain_time)
    t0 = time.monotonic()
    assert tracevis.flush(0.3) is False
    assert time.monotonic() - t0 < 0.8
