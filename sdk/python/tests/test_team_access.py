"""The SDK against a team's server, where sign-in is required: a producer
token from `tracevis token create` is all it needs (TRACEVIS_TOKEN or
``configure(token=…)``), and what it sends is readable with a read token only."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request

import pytest

import tracevis

from conftest import find_server_binary, running_server


@pytest.fixture(scope="module")
def team_server(tmp_path_factory):
    binary = find_server_binary()
    tmp = tmp_path_factory.mktemp("tracevis-team")
    db = f"sqlite://{tmp}/team.db"

    def cli(*args: str) -> str:
        done = subprocess.run(
            [str(binary), *args, "--database-url", db],
            capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL,
            env={"TRACEVIS_CONFIG": "/nonexistent.toml", "PATH": "/usr/bin:/bin"},
        )
        return done.stdout.strip()

    ingest = cli("token", "create", "--name", "sdk-producer", "--scope", "ingest")
    read = cli("token", "create", "--name", "sdk-reader", "--scope", "read")
    with running_server(tmp, db, "--auth", "required") as url:
        yield url, ingest, read


def get(url: str, token: str | None) -> tuple[int, dict]:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_a_producer_token_is_all_the_sdk_needs_on_a_team_server(team_server):
    url, ingest, read = team_server
    assert ingest.startswith("tvi_") and read.startswith("tvr_")
    tracevis.configure(url=url, token=ingest)
    with tracevis.run("team_graph", inputs={"topic": "access"}) as run:
        with run.node("plan"):
            pass
    assert tracevis.flush(10)

    status, trace = get(f"{url}/api/v1/executions/{run.execution_id}", read)
    assert status == 200
    assert trace["status"] == "completed"
    assert [e["node_id"] for e in trace["node_events"]] == ["plan", "plan"]
    # Nobody reads without a credential, and the producer's token cannot read.
    assert get(f"{url}/api/v1/executions/{run.execution_id}", None)[0] == 401
    status, body = get(f"{url}/api/v1/executions/{run.execution_id}", ingest)
    assert (status, body["code"]) == (403, "forbidden")
