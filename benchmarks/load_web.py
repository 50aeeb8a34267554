"""Load on the web explorer: 50 concurrent clients asking for surfaces and races, on loopback.

Starts ``losslab serve`` on a free 127.0.0.1 port in a subprocess, waits for it, then:

1. "feels instant": a 201×201 Rosenbrock surface followed by a race of 5 optimizers × 500
   steps, one client, ``--repeat`` times (p50 and spread);
2. "a classroom": ``--clients`` clients at once, each sending ``--requests`` requests that
   alternate a 101×101 surface and a race of 3 optimizers × 200 steps on a gallery surface
   (a different start per request, so nothing is cached); p50/p95 latency, errors, wall time;
3. "heavy and light mixed": ``--heavy`` clients each sending, one after another, requests that run to
   the wall-time bound (the analysis of ``(x+y+z)**100``, which SymPy works on for minutes, and GIFs of
   200 frames), while one light client asks for 201×201 surfaces; the light requests' p50/p95 and how
   many heavy requests were answered at their bound.

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


async def mixed(client: httpx.AsyncClient, heavy: int, light: int, seconds: float) -> tuple[list[float], int, int]:
    """Heavy clients at the bound while ``light`` requests for 201×201 surfaces are timed, for ``seconds``."""
    stop = time.perf_counter() + seconds
    bounded = answered = 0

    async def heavy_client(k: int) -> None:
        nonlocal bounded, answered
        j = 0
        while time.perf_counter() < stop:
            if (k + j) % 2 == 0:
                body: dict[str, object] = {"objective": {"source": "formula", "text": "(x + y + z)**100"}}
                response = await client.post("/api/analyze", json=body)
            else:
                gif = {**race_body("himmelblau", [0.1 * k, 0.1 * j], ["gd", "adam"], 5000), "frames": 200}
                response = await client.post("/api/animation", json=gif)
            answered += 1
            bounded += response.status_code == 422 and "wall_time_s" in response.text
            j += 1

    async def light_client() -> list[float]:
        await asyncio.sleep(1.0)  # the heavy requests are computing by now
        times = []
        body = {"objective": {"source": "gallery", "name": "rosenbrock"}, "points": 201}
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            response = await client.post("/api/surface", json=body)
            times.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.text[:200]
            await asyncio.sleep(0.05)
        return times

    results = await asyncio.gather(*(heavy_client(k) for k in range(heavy)), light_client())
    return results[-1], bounded, answered


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
            light, bounded, heavy = await mixed(client, args.heavy, 1, args.mixed_seconds)
            print(
                f"{args.heavy} heavy clients at the wall-time bound ({heavy} requests, {bounded} stopped at it) "
                f"and 201×201 surfaces meanwhile ({len(light)}):"
            )
            print(f"  surface p50 {pct(light, 0.5) * 1e3:.0f} ms, p95 {pct(light, 0.95) * 1e3:.0f} ms (goal < 300 ms)")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=4, help="requests per client")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the 'feels instant' request pair")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds before giving up")
    parser.add_argument("--heavy", type=int, default=4, help="heavy clients in the mixed load")
    parser.add_argument("--mixed-seconds", type=float, default=45.0, help="length of the mixed load")
    asyncio.run(main(parser.parse_args()))
