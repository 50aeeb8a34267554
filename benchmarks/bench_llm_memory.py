"""Peak memory of a survey at LLM scale: a Llama-style causal LM with random weights, a 3×3 plane of
regenerated directions formed layer by layer (losslab.landscape.regenerated_survey).

Measured: the process's resident set before the model is built (the framework), after (the model:
its parameters are ``P · itemsize`` bytes), and its peak during the survey alone (Linux: the peak is
reset through /proc/self/clear_refs just before the survey, then read from VmHWM).

    .venv/bin/python benchmarks/bench_llm_memory.py [--hidden 2048 --layers 16 --intermediate 5632]
        [--vocab 32000 --tokens 256 --grid 3 --dtype float32]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import torch

from losslab.landscape.regenerated import RegeneratedDirections
from losslab.landscape.regenerated_survey import regenerated_survey
from losslab.objectives.network import NetworkObjective


def rss(field: str = "VmRSS") -> int:
    """Bytes of the process's resident set (VmRSS) or its peak since the last reset (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def llama(args: argparse.Namespace) -> torch.nn.Module:
    import transformers

    config = transformers.LlamaConfig(
        vocab_size=args.vocab, hidden_size=args.hidden, intermediate_size=args.intermediate,
        num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
        max_position_embeddings=max(args.tokens, 64), tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(0)  # a benchmark script: the global RNG is its own
    return transformers.LlamaForCausalLM(config).to(getattr(torch, args.dtype))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in (("hidden", 2048), ("layers", 16), ("intermediate", 5632), ("heads", 32), ("kv-heads", 4),
                          ("vocab", 32000), ("tokens", 256), ("grid", 3)):  # fmt: skip
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    args = parser.parse_args()
    framework = rss()
    model = llama(args).eval()
    parameters = sum(p.numel() for p in model.parameters())
    model_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    tokens = torch.randint(0, args.vocab, (1, args.tokens), generator=torch.Generator().manual_seed(0))
    objective = NetworkObjective(model, tokens)
    before = rss()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM: the peak from here on is the survey's
    start = time.perf_counter()
    surface = regenerated_survey(objective, RegeneratedDirections(seed=0), args.grid, (-0.5, 0.5))
    seconds = time.perf_counter() - start
    peak = rss("VmHWM")
    print(f"Llama {parameters / 1e6:.0f} M parameters ({args.dtype}): the model holds {model_bytes / 2**30:.2f} GiB")
    print(f"resident: framework {framework / 2**30:.2f} GiB, with the model {before / 2**30:.2f} GiB")
    print(f"survey {args.grid}x{args.grid} on 1x{args.tokens} tokens: {seconds:.0f} s, "
          f"{seconds / args.grid**2:.1f} s a point")  # fmt: skip
    print(
        f"peak resident during the survey {peak / 2**30:.2f} GiB = {peak / model_bytes:.2f}x the model; "
        f"above the framework {(peak - framework) / 2**30:.2f} GiB = {(peak - framework) / model_bytes:.2f}x"
    )
    print(f"process peak since start (ru_maxrss) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    print(f"loss at the centre {surface.center_value():.4f}, range {float(surface.values['loss'].min()):.4f}"
          f"–{float(surface.values['loss'].max()):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
