"""Load on the web explorer: 50 concurrent clients asking for surfaces and races, on loopback.

Starts ``losslab serve`` on a free 127.0.0.1 port in a subprocess, waits for it, then:

1. "feels instant": a 201×201 Rosenbrock surface followed by a race of 5 optimizers × 500
   steps, one client, ``--repeat`` times (p50 and spread);
2. "a classroom": ``--clients`` clients at once, each sending ``--requests`` requests that
   alternate a 101×101 surface and a race of 3 optimizers × 200 steps on a gallery surface
   (a different start per request, so nothing is cached); p50/p95 latency, errors, wall time.

The request count and a total time limit are bounded. Run: ``.venv/bin/python benchmarks/load_web.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

GALLERY = ("rosenbrock", "himmelblau", "case_study_2", "booth", "six_hump_camel")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    losslab = Path(sys.executable).with_name("losslab")
    server = subprocess.Popen([str(losslab), "serve", "--port", str(port)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/catalog", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not start within 60 s")


def race_body(name: str, start: list[float], runners: list[str], steps: int) -> dict[str, object]:
    return {
        "objective": {"source": "gallery", "name": name},
        "start": start,
        "steps": steps,
        "optimizers": [
            {"name": r, "hyperparameters": {"lr": 0.001 if r in ("gd", "momentum", "nesterov") else 0.01}}
            for r in runners
        ],
    }


async def instant(client: httpx.AsyncClient, repeat: int) -> list[float]:
    runners = ["gd", "momentum", "nesterov", "rmsprop", "adam"]
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        surface = await client.post(
            "/api/surface", json={"objective": {"source": "gallery", "name": "rosenbrock"}, "points": 201}
        )
        race = await client.post("/api/race", json=race_body("rosenbrock", [-1.5, 2.0 + i * 1e-3], runners, 500))
        times.append(time.perf_counter() - t0)
        assert surface.status_code == race.status_code == 200, (surface.text[:200], race.text[:200])
    return times


async def classroom(client: httpx.AsyncClient, clients: int, requests: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0

    async def student(k: int) -> None:
        nonlocal errors
        name = GALLERY[k % len(GALLERY)]
        for j in range(requests):
            t0 = time.perf_counter()
            if j % 2 == 0:
                body: dict[str, object] = {"objective": {"source": "gallery", "name": name}, "points": 101}
                response = await client.post("/api/surface", json=body)
            else:
                start = [0.5 + 0.01 * k, -0.5 + 0.01 * j]
                response = await client.post("/api/race", json=race_body(name, start, ["gd", "adam", "rmsprop"], 200))
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 200:
                errors += 1
                if errors <= 3:
                    print(f"  error {response.status_code}: {response.text[:200]}")

    await asyncio.gather(*(student(k) for k in range(clients)))
    return latencies, errors


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    server = start_server(port)
    try:
        limits = httpx.Limits(max_connections=args.clients)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=args.limit, limits=limits) as client:
            times = await asyncio.wait_for(instant(client, args.repeat), args.limit)
            print(f"201×201 Rosenbrock surface + race of 5 optimizers × 500 steps, {args.repeat} runs:")
            print(
                f"  p50 {statistics.median(times) * 1e3:.0f} ms, min {min(times) * 1e3:.0f} ms, "
                f"max {max(times) * 1e3:.0f} ms"
            )
            t0 = time.perf_counter()
            latencies, errors = await asyncio.wait_for(classroom(client, args.clients, args.requests), args.limit)
            wall = time.perf_counter() - t0
            print(f"{args.clients} clients × {args.requests} requests (surface 101×101 / race 3 × 200 steps):")
            print(
                f"  p50 {pct(latencies, 0.5) * 1e3:.0f} ms, p95 {pct(latencies, 0.95) * 1e3:.0f} ms, "
                f"errors {errors} of {len(latencies)}, wall {wall:.1f} s, {len(latencies) / wall:.1f} requests/s"
            )
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=4, help="requests per client")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the 'feels instant' request pair")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds before giving up")
    asyncio.run(main(parser.parse_args()))
