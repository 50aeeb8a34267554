"""First load of the explorer in a real browser: bytes over the wire and time to a drawn page.

Starts ``losslab serve`` on a free loopback port, opens the page in Debian's Chromium (headless,
through Playwright; a fresh context, so the cache is cold), and prints the bytes that crossed the
wire per file (gzipped bodies as sent, with headers), the time to the ``load`` event and to the
drawn contour map, then a reload (warm cache: 304s) until the map is drawn again. ``--repeat``
runs it several times. Run: ``.venv/bin/python benchmarks/first_load.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from load_web import free_port, start_server
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def one_load(browser: Any, url: str) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    wire: dict[str, int] = {}

    def finished(request: Any) -> None:  # the body as it crossed the wire (gzipped when it was) and its headers
        sizes = request.sizes()
        wire[request.url.split("/", 3)[-1] or "/"] = sizes["responseBodySize"] + sizes["responseHeadersSize"]

    page.on("requestfinished", finished)
    began = time.perf_counter()
    page.goto(url, wait_until="load")
    loaded = time.perf_counter() - began
    page.wait_for_selector("#plot-main .main-svg", timeout=60_000)
    drawn = time.perf_counter() - began
    first = dict(wire)
    wire.clear()
    again = time.perf_counter()
    page.reload(wait_until="load")
    page.wait_for_selector("#plot-main .main-svg", timeout=60_000)
    reloaded = time.perf_counter() - again
    context.close()
    return {"loaded": loaded, "drawn": drawn, "reload": reloaded, "wire": first, "reload_wire": sum(wire.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    server = start_server(port)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            runs = [one_load(browser, f"http://127.0.0.1:{port}/") for _ in range(args.repeat)]
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    first = runs[0]["wire"]
    for name, size in sorted(first.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {size / 1e3:10.1f} kB  {name}")
    files = sum(v for k, v in first.items() if not k.startswith("api/"))
    answers = sum(v for k, v in first.items() if k.startswith("api/"))
    print(f"over the wire, first load: {files / 1e6:.2f} MB of page and Plotly, {answers / 1e6:.2f} MB of API answers")
    print(f"over the wire, reload: {runs[0]['reload_wire'] / 1e6:.2f} MB (page files revalidated: 304 without a body)")
    for key in ("loaded", "drawn", "reload"):
        values = [r[key] for r in runs]
        print(f"{key:>8}: median {statistics.median(values):.2f} s  (runs: {', '.join(f'{v:.2f}' for v in values)})")


if __name__ == "__main__":
    main()
