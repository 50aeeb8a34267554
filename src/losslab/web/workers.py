"""The explorer's request work in child processes that can be killed, in two lanes.

A thread cannot be stopped: a request past its bound (a formula whose constant SymPy works on for minutes,
``(x+y+z)**100`` expanded, a thousand declared variables) kept the one worker thread busy after its answer,
and every request behind it waited. Here each piece of work runs in a worker *process*; past the bound, or
once its client has gone, the process is killed and a fresh one forked in its place (from a warmed-up fork
server: tens of milliseconds, not the seconds of importing torch and SymPy again).

Two lanes, so that cheap requests never queue behind expensive ones: the light lane (:data:`LIGHT`: a
surface, the objective's description, the curvature under the mouse) has workers of its own; races, GIFs,
analyses, suggestions and fits share the heavy lane. A lane's work waits for a free worker of its lane; the
wait does not count against the bound, and a request whose client leaves while it waits is never started.

Each worker is a single-threaded process: torch's forward-mode AD levels (Hessians) are process-global, so
two threads computing them at once fail, but two processes do not.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from losslab.errors import LosslabError

LIGHT = frozenset({"describe", "surface", "hessian"})  # the service functions the light lane runs
HEAVY = frozenset({"analysis", "suggestion", "run_race", "animation", "fits", "energy_path", "boundary", "levels"})
STOPPABLE = frozenset({"run_race", "animation"})  # they take a should_stop callable and end themselves
GRACE_S = 0.5  # after the bound, the work has this long to end itself before its process is killed
POLL_S = 0.05  # how often a waiting request looks for its client's disconnect


class ClientGone(LosslabError):
    """The client closed the connection before the answer; its work was stopped (or never started)."""


@dataclass
class _Failure:
    """What a worker sends back for a LosslabError: enough to raise the same error in the server."""

    message: str
    column: int | None
    bound: str | None
    limit: float | None
    status: int | None


def _serve(conn: Connection, torch_threads: int | None) -> None:
    """A worker's loop: receive ``(name, args, limit)``, run ``service.<name>(*args)``, send the JSON bytes.

    Ctrl-C on the server reaches its whole process group: a worker ignores it (the server kills its workers
    as it stops, and a worker whose server is gone reads the end of its pipe and returns).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch

    from losslab.serialize import json_bytes
    from losslab.web import service

    if torch_threads is not None:
        torch.set_num_threads(torch_threads)
    while True:
        try:
            name, args, limit = conn.recv()
        except (EOFError, OSError):
            return
        deadline = time.monotonic() + limit
        try:
            work: Callable[..., Any] = getattr(service, name)
            if name in STOPPABLE:
                result = work(*args, lambda end=deadline: time.monotonic() > end)
            else:
                result = work(*args)
            conn.send(("ok", result if isinstance(result, bytes) else json_bytes(result)))
        except LosslabError as error:
            if name in STOPPABLE and time.monotonic() > deadline:  # it stopped itself at the bound
                conn.send(("error", _Failure(_past_bound_message(limit), None, "wall_time_s", limit, 422)))
                continue
            bound, status = getattr(error, "bound", None), getattr(error, "status", None)
            conn.send(("error", _Failure(str(error), error.column, bound, getattr(error, "limit", None), status)))
        except Exception:  # noqa: BLE001 — reported to the server, which answers it as its own failure
            conn.send(("crash", traceback.format_exc(limit=-8)))


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection


class WorkerPool:
    """``light`` + ``heavy`` worker processes and a queue of idle ones for each lane.

    Args:
        light: workers for :data:`LIGHT` work.
        heavy: workers for everything else.
        torch_threads: intra-op threads in each worker (None: torch's default).
    """

    def __init__(self, light: int, heavy: int, torch_threads: int | None = 1) -> None:
        self.sizes = {"light": light, "heavy": heavy}
        self.torch_threads = torch_threads
        self.context = multiprocessing.get_context("forkserver")
        self.idle: dict[str, asyncio.Queue[_Worker]] = {}
        self.workers: set[_Worker] = set()
        self.kills = 0  # workers killed past a bound or for a client that left (for tests and benchmarks)

    def start(self) -> None:
        """Fork the workers (the first pool in a process also starts the warmed-up fork server)."""
        self.context.set_forkserver_preload(["losslab.web.forkserver_preload"])
        for lane, size in self.sizes.items():
            self.idle[lane] = asyncio.Queue()
            for _ in range(size):
                self.idle[lane].put_nowait(self._spawn())

    def close(self) -> None:
        for worker in list(self.workers):
            self._kill(worker)

    async def run(self, name: str, args: tuple[Any, ...], limit: float, gone: Callable[[], Any]) -> bytes:
        """``service.<name>(*args)`` rendered as JSON (a GIF's bytes for ``animation``), in a worker of its lane.

        Raises the work's own :class:`LosslabError` (a BoundError naming ``wall_time_s`` past ``limit``
        seconds of computing), :class:`ClientGone` when ``await gone()`` turns true (the client left), and
        RuntimeError when the work failed unexpectedly.
        """
        lane = "light" if name in LIGHT else "heavy"
        if name not in LIGHT | HEAVY:
            raise LosslabError(f"no service work {name!r}")
        worker = await self._idle_worker(lane, gone)
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()
        fd = worker.conn.fileno()

        def ready() -> None:
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(fd, ready)
        try:
            worker.conn.send((name, args, limit))
            deadline = time.monotonic() + limit + (GRACE_S if name in STOPPABLE else 0.0)
            while not readable.done():
                await asyncio.wait({readable}, timeout=max(0.0, min(POLL_S, deadline - time.monotonic())))
                if readable.done():
                    break
                if time.monotonic() >= deadline:
                    self._replace(worker, lane)
                    raise _past_bound(limit)
                if await gone():
                    self._replace(worker, lane)
                    raise ClientGone("the client closed the connection; its work was stopped")
        finally:
            loop.remove_reader(fd)
        try:
            status, payload = worker.conn.recv()
        except (EOFError, OSError):
            code = worker.process.exitcode
            self._replace(worker, lane)
            raise LosslabError(f"the work ended its process (exit status {code}; out of memory?)") from None
        self.idle[lane].put_nowait(worker)
        if status == "ok":
            return bytes(payload)
        if status == "error":
            raise _rebuilt(payload, limit)
        raise RuntimeError(f"service.{name} failed in a worker:\n{payload}")

    async def _idle_worker(self, lane: str, gone: Callable[[], Any]) -> _Worker:
        while True:
            try:
                return await asyncio.wait_for(self.idle[lane].get(), POLL_S)
            except TimeoutError:
                if await gone():
                    raise ClientGone("the client went away before the work started") from None

    def _spawn(self) -> _Worker:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_serve, args=(child, self.torch_threads), daemon=True)
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self.workers.add(worker)
        return worker

    def _kill(self, worker: _Worker) -> None:
        self.workers.discard(worker)
        if worker.process.is_alive():
            worker.process.kill()
        worker.conn.close()
        worker.process.join(1)

    def _replace(self, worker: _Worker, lane: str) -> None:
        """Kill ``worker`` and put a fresh one in its lane (forked from the fork server: milliseconds)."""
        self.kills += 1
        self._kill(worker)
        self.idle[lane].put_nowait(self._spawn())


def _past_bound_message(limit: float) -> str:
    return f"the request took longer than the bound wall_time_s = {limit:g} s"


def _past_bound(limit: float) -> LosslabError:
    from losslab.web.service import BoundError

    return BoundError("wall_time_s", limit, _past_bound_message(limit))


def _rebuilt(failure: _Failure, limit: float) -> LosslabError:
    from losslab.web.service import BoundError

    if failure.bound is not None:
        return BoundError(failure.bound, failure.limit or 0.0, failure.message, failure.status or 422)
    return LosslabError(failure.message, column=failure.column)
