"""Cost of recording one node visit in the user's thread.

One visit = ``with run.node(...)`` enter + exit (with small inputs/outputs)
+ ``run.snapshot`` of a ~1 KB state. Target: median <= 20 us.

The records go to a throw-away HTTP sink running in a separate process, so
the background worker really batches and sends while the user thread is
measured (it competes for the GIL, as it would in a real program).

    python bench_overhead.py [--visits 10000] [--url http://127.0.0.1:3000] [--burst]

By default the loop pauses 1 ms every 10 visits (a node doing real work
would take longer), so the worker keeps up and nothing is dropped; --burst
records back to back, faster than anything can be sent, and shows the
drop-oldest queue at work.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

SINK = r"""
import sys
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""


def make_state() -> dict:
    state = {
        "query": "translate the quarterly report into French and German",
        "step": 0,
        "draft": {"title": "Quarterly report", "sections": ["intro", "numbers", "outlook"], "words": 1234},
        "messages": [{"role": "user" if i % 2 else "assistant", "content": f"message number {i} " * 3} for i in range(8)],
        "scores": [0.1 * i for i in range(10)],
        "done": False,
    }
    size = len(json.dumps(state))
    assert 900 <= size <= 1300, size
    return state


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visits", type=int, default=10_000)
    ap.add_argument("--url", default=None, help="send to this server instead of a local sink")
    ap.add_argument("--burst", dest="pace", action="store_false", help="no pause between visits")
    args = ap.parse_args()

    sink = None
    url = args.url
    if url is None:
        sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{sink.stdout.readline().strip()}"
    try:
        import tracevis

        client = tracevis.configure(url=url)
        state = make_state()
        timer = time.perf_counter_ns
        samples = []
        run = tracevis.run("bench_overhead", inputs={"visits": args.visits})
        with run:
            for i in range(args.visits):
                t0 = timer()
                with run.node("TranslateNode", inputs={"i": i}) as visit:
                    state["step"] = i  # the "work"
                    visit.outputs = {"step": i}
                run.snapshot("TranslateNode", state)
                samples.append(timer() - t0)
                if args.pace and i % 10 == 9:
                    time.sleep(0.001)  # real nodes take longer: gives the worker time to send
        # the cost of the timing itself and the "work", without tracevis
        empty = []
        for i in range(args.visits):
            t0 = timer()
            state["step"] = i
            empty.append(timer() - t0)
        ok = tracevis.flush(30)
        samples.sort()
        base = statistics.median(empty)
        med = statistics.median(samples) - base
        p90 = samples[int(len(samples) * 0.90)] - base
        p99 = samples[int(len(samples) * 0.99)] - base
        print(
            f"tracevis overhead per node visit (enter+exit+1 KB snapshot), {args.visits} visits: "
            f"median {med / 1000:.1f} us, p90 {p90 / 1000:.1f} us, p99 {p99 / 1000:.1f} us "
            f"(target median <= 20 us) | flushed={ok} sent={client.stats['sent']} dropped={client.dropped}"
        )
    finally:
        if sink is not None:
            sink.terminate()
            sink.wait()


if __name__ == "__main__":
    main()
