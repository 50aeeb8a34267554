"""A demo trains as it is built; its θ* must not depend on the thread count. torchrun runs each rank on one
thread and this machine on two, and the mlp, cnn and gpt2-tiny demos trained with sums in another order
(another model sha256): a survey started under torchrun was refused on resume in one process."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from losslab.networks.demos import demo


def _trained_at(threads: int, build) -> torch.Tensor:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return build()
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_a_demo_trains_to_the_same_bits_on_one_thread_or_several(name: str) -> None:
    def build() -> torch.Tensor:
        return nn.utils.parameters_to_vector(demo(name, steps=12).model.parameters()).detach()

    one, several = _trained_at(1, build), _trained_at(2, build)
    assert torch.equal(one, several)


def test_the_language_demo_too() -> None:
    pytest.importorskip("transformers")
    from losslab.networks.language import language_demo

    def build() -> torch.Tensor:
        return nn.utils.parameters_to_vector(language_demo("gpt2-tiny", steps=6)[0].parameters()).detach()

    assert torch.equal(_trained_at(1, build), _trained_at(2, build))


def test_training_leaves_the_thread_count_as_it_was() -> None:
    before = torch.get_num_threads()
    demo("moons-mlp", steps=3)
    assert torch.get_num_threads() == before
