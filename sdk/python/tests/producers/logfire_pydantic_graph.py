"""A pydantic-graph program that already exports through logfire, as a user
has it: nothing tracevis-specific but the OTLP endpoint in the environment
(OTEL_EXPORTER_OTLP_ENDPOINT). argv: graph name, then "fail" to raise."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import logfire
from pydantic_graph import BaseNode, End, GraphBuilder, GraphRunContext, StepContext

logfire.configure(send_to_logfire=False, console=False, service_name="counter-service")


@dataclass
class Counter:
    count: int = 0
    fail_at: int | None = None


@dataclass
class Increment(BaseNode[Counter, None, int]):
    by: int

    async def run(self, ctx: GraphRunContext[Counter]) -> Check:
        ctx.state.count += self.by
        if ctx.state.fail_at is not None and ctx.state.count >= ctx.state.fail_at:
            raise ValueError(f"count reached {ctx.state.count}")
        return Check()


@dataclass
class Check(BaseNode[Counter, None, int]):
    async def run(self, ctx: GraphRunContext[Counter]) -> Increment | End[int]:
        if ctx.state.count < 3:
            return Increment(by=1)
        return End(ctx.state.count * 10)


def build(name: str):
    g = GraphBuilder(name=name, state_type=Counter, input_type=int, output_type=int)

    @g.step
    async def begin(ctx: StepContext[Counter, None, int]) -> Increment:
        return Increment(by=ctx.inputs)

    g.add(g.edge_from(g.start_node).to(begin))
    g.add_reachable(Increment)
    return g.build()


if __name__ == "__main__":
    name, fail = sys.argv[1], sys.argv[2:] == ["fail"]
    logfire.info("starting {name}", name=name)  # a log line outside any run
    try:
        print(build(name).run_sync(state=Counter(fail_at=2 if fail else None), inputs=1))
    except ValueError as e:
        print("raised", e)
    logfire.force_flush()
