"""Activations that HuggingFace writes as chains of elementwise steps, evaluated by torch's one kernel for them.

GPT-2's ``gelu_new`` (``NewGELUActivation``) and ``gelu_fast`` (``FastGELUActivation``) are the tanh
approximation of GELU, ``½x(1 + tanh(√(2/π)(x + 0.044715x³)))``, written as six to seven torch calls, each
a pass over the MLP's widest activation. ``torch.nn.functional.gelu(x, approximate="tanh")`` is the same
function in one pass, with the same first and second derivatives (HuggingFace's own ``GELUTanh`` says
so: "equivalent to NewGELU and FastGELU but much faster", not bit-equal). Largest differences on 2²¹
normal samples: 8.9e-16 in float64, 2.4e-7 in float32, one rounding step in bfloat16. The
10.5 M-parameter GPT-2 of ``benchmarks/bench_models.py`` (W5) on 16×128 tokens spent 17 ms of a 114 ms
bfloat16 forward in ``gelu_new``; with torch's kernel the forward takes 107 ms.

The user's model is not changed: :func:`fused` replaces such a module's ``forward`` by an instance
attribute for the length of one call and removes it afterwards. A module whose instance already carries
its own ``forward`` is left as it is.

>>> from torch import nn
>>> class NewGELUActivation(nn.Module):  # the shape of HuggingFace's class, for the example
...     def forward(self, x):
...         return 0.5 * x * (1.0 + torch.tanh(0.7978845608028654 * (x + 0.044715 * torch.pow(x, 3.0))))
>>> NewGELUActivation.__module__ = "transformers.activations"
>>> act = NewGELUActivation()
>>> x = torch.linspace(-4, 4, 9, dtype=torch.float64)
>>> with fused(act):
...     fast = act(x)
>>> bool(torch.allclose(fast, NewGELUActivation()(x), rtol=0, atol=1e-15)), "forward" in act.__dict__
(True, False)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

#: (module, class name) of the activations replaced, each by torch's tanh GELU
TANH_GELUS = frozenset(
    {("transformers.activations", "NewGELUActivation"), ("transformers.activations", "FastGELUActivation")}
)


def _tanh_gelu(x: torch.Tensor) -> torch.Tensor:
    return nn.functional.gelu(x, approximate="tanh")


def replaceable(model: nn.Module) -> list[nn.Module]:
    """The modules of ``model`` whose forward :func:`fused` replaces."""
    return [
        module
        for module in model.modules()
        if (type(module).__module__, type(module).__name__) in TANH_GELUS and "forward" not in module.__dict__
    ]


@contextlib.contextmanager
def fused(model: nn.Module) -> Iterator[None]:
    """A context in which the activations of ``model`` listed in :data:`TANH_GELUS` run on torch's kernel."""
    modules = replaceable(model)
    for module in modules:
        module.forward = _tanh_gelu  # type: ignore[method-assign]
    try:
        yield
    finally:
        for module in modules:
            module.__dict__.pop("forward", None)  # another thread's call may have removed it first
