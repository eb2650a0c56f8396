"""A LangGraph program instrumented with OpenInference, exporting over
OTLP/HTTP as Arize Phoenix's docs set it up; only the endpoint points at
tracevis (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT). argv: graph name, then "fail"
to raise inside a node."""

from __future__ import annotations

import operator
import os
import sys
from typing import Annotated, TypedDict

from openinference.instrumentation.langchain import LangChainInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "langgraph-service"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])))
LangChainInstrumentor().instrument(tracer_provider=provider)

from langgraph.graph import END, START, StateGraph  # noqa: E402


class State(TypedDict):
    n: int
    log: Annotated[list, operator.add]
    fail: bool


def inc(s: State) -> dict:
    if s.get("fail") and s["n"] >= 2:
        raise ValueError(f"boom at {s['n']}")
    return {"n": s["n"] + 1, "log": ["inc"]}


def route(s: State) -> str:
    return "inc" if s["n"] < 3 else END


def build(name: str):
    b = StateGraph(State)
    b.add_node("inc", inc)
    b.add_node("check", lambda s: {"log": ["check"]})
    b.add_edge(START, "inc")
    b.add_edge("inc", "check")
    b.add_conditional_edges("check", route)
    return b.compile(name=name)


if __name__ == "__main__":
    name, fail = sys.argv[1], sys.argv[2:] == ["fail"]
    try:
        print(build(name).invoke({"n": 0, "log": [], "fail": fail}))
    except ValueError as e:
        print("raised", e)
    provider.shutdown()
