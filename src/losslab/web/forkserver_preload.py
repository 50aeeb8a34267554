"""Imported once, by the worker pool's fork server only (:mod:`losslab.web.workers`): it loads and warms up
what every request worker needs, so that a worker forked from it starts ready — tens of milliseconds
instead of seconds of importing torch and SymPy and of torch's first-optimizer imports."""

from __future__ import annotations

import gc
import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C while it warms up is the server's to handle, not a traceback

import torch  # noqa: E402

from losslab.web import service  # noqa: E402

torch.set_num_threads(1)  # no OpenMP pool in the fork server: a forked child must not inherit one
service.warm_up()
gc.collect()
gc.freeze()  # the long-lived objects of the imports stay out of every worker's collections
