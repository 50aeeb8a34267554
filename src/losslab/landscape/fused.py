"""The fused evaluation of an ``nn.Sequential``: its first parameterized layer once per direction.

For ``Θ = c + Σ_k C_k d_k`` the first Linear/Conv layer's output is affine in the coordinates,
``z(Θ) = z(c) + Σ_k C_k · z_lin(d_k)`` (``z_lin``: the layer with the direction's weight and
bias), so it is computed k + 1 times for the whole grid (or, for a Conv2d whose input patches are
smaller than k + 1 outputs, as one matmul of the patches per point). The layers after it run as a
:class:`~losslab.landscape.fused_chain.LinearChain` (Linear layers and elementwise activations on
2-D inputs: batched matmuls, tiled over samples, with a fast cross-entropy), as
:class:`~losslab.landscape.fused_images.ImagePoints` (images: point by point, channels-last), or
as a ``vmap`` over ``functional_call`` of the remaining layers (anything else).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap
from torch.nn.utils import parametrize

from losslab.landscape.fused_chain import LinearChain, class_sums, class_targets, is_cross_entropy
from losslab.landscape.fused_images import ImagePoints, PatchConv
from losslab.objectives.model_state import named_views
from losslab.objectives.network import NetworkObjective

AFFINE_FIRST = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
# modules that act elementwise (in eval mode), so they apply to a whole chunk's batched activations as they are
ELEMENTWISE = (
    nn.ReLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.GELU,
    nn.LeakyReLU,
    nn.ELU,
    nn.SiLU,
    nn.Softplus,
    nn.Identity,
    nn.Dropout,
)
ChunkResult = tuple[Tensor, Tensor | None]


def losses(objective: NetworkObjective, outputs: Tensor, targets: Tensor) -> Tensor:
    """The objective's loss for each point's outputs ``(m, n, …)`` (the generic path)."""
    return vmap(objective.loss_fn, in_dims=(0, None))(outputs, targets)


def finish(objective: NetworkObjective, outputs: Tensor, targets: Tensor, classifier: bool) -> ChunkResult:
    """(loss, accuracy or None) from each point's outputs ``(m, n, …)``."""
    accuracy = (outputs.argmax(-1) == targets).to(outputs.dtype).mean(-1) if classifier else None
    return losses(objective, outputs, targets), accuracy


class FusedSequential:
    """The first layer computed k + 1 times for the whole grid; the rest as a chain or vmapped per point."""

    def __init__(
        self,
        objective: NetworkObjective,
        rest: nn.Sequential,
        zs: Tensor,
        center: Tensor,
        vectors: Tensor,
        patches: PatchConv | None = None,
    ) -> None:
        n_first = center.numel() - sum(p.numel() for p in rest.parameters())
        self.objective, self.rest, self.zs = objective, rest, zs
        self.targets: Tensor = objective.data[1]  # type: ignore[index,assignment]  # build: in-memory tensors
        self.classifier = objective.classifier
        self.rest_shapes = {
            name: objective.shapes[name]
            for name in list(objective.shapes)[len(objective.shapes) - len(list(rest.parameters())) :]
        }
        self.center_rest, self.directions_rest = center[n_first:], vectors[:, n_first:]
        self.center_first, self.directions_first = center[:n_first], vectors[:, :n_first]
        self.buffers = {k: v for k, v in objective.buffers.items() if k.split(".", 1)[0] in rest._modules}
        self.chain = self._chain()
        if self.chain is not None and self.chain.order is not None:  # θ laid out as the chain's matmuls take it
            order = self.chain.order
            self.center_rest, self.directions_rest = self.center_rest[order], self.directions_rest[:, order]
        self.cross_entropy = self.chain.cross_entropy if self.chain is not None else self._class_outputs()
        # 2-D images (a Conv2d first layer formed from patches, or a Conv2d after it): point by point
        self.images: ImagePoints | None = None
        if patches is not None or (
            self.chain is None and zs.dim() == 5 and any(isinstance(m, nn.Conv2d) for m in rest.modules())
        ):
            self.images = ImagePoints(list(rest.named_children()), self.rest_shapes, self.buffers, patches, zs)
            self.zs = self.images.zs

    @classmethod
    def build(cls, objective: NetworkObjective, center: Tensor, vectors: Tensor) -> FusedSequential | None:
        """The fused evaluator, or None where it does not apply (not a Sequential, no affine first layer, …)."""
        model = objective.model
        if not (isinstance(model, nn.Sequential) and isinstance(objective.data, tuple)):
            return None
        if not (isinstance(objective.data[0], Tensor) and isinstance(objective.data[1], Tensor)):
            return None  # a dict of inputs, or targets the model or its loss derives: the generic path
        if any(parametrize.is_parametrized(m) or m._forward_pre_hooks or m._forward_hooks for m in model.modules()):
            return None  # weight_norm, spectral_norm (or hooks): a layer's weight is no parameter, nor linear in θ
        first = next((i for i, m in enumerate(model) if any(True for _ in m.parameters())), None)
        if (
            first is None
            or not isinstance(model[first], AFFINE_FIRST)
            or any(True for _ in model[: first + 1].buffers())
        ):
            return None
        layer = model[first]
        own = [f"{first}.{name}" for name, _ in layer.named_parameters()]
        if list(objective.shapes)[: len(own)] != own:
            return None
        n_first = sum(objective.shapes[name].numel() for name in own)
        x = objective.data[0]
        rest = nn.Sequential(OrderedDict(list(model.named_children())[first + 1 :]))  # keeps the names "2.weight", …
        with torch.no_grad():
            for module in list(model)[:first]:
                x = module(x)
            if PatchConv.applies(layer, x, len(vectors)):
                patches = PatchConv(layer, x, list(rest.named_children()))  # type: ignore[arg-type]
                return cls(objective, rest, x.new_empty(0), center, vectors, patches)
            zs = torch.stack([_layer_at(objective, layer, own, v[:n_first], x) for v in (center, *vectors)])
        return cls(objective, rest, zs, center, vectors)

    def __call__(self, coords: Tensor) -> ChunkResult:
        """(loss, accuracy or None) at each row of ``coords``."""
        thetas = torch.addmm(self.center_rest, coords, self.directions_rest)
        targets = self.targets
        n = len(targets)
        if self.chain is not None:
            out, correct = self.chain(coords, thetas)
            if correct is None:
                return finish(self.objective, out, targets, self.classifier)
            return out / n, correct / n
        outputs = self.outputs(coords, thetas)
        if self.cross_entropy and outputs.dim() == 3:  # (m, n, C): the class axis reduced as in the chain
            loss, correct = class_sums(outputs.transpose(1, 2), targets)
            return loss / n, correct / n
        return finish(self.objective, outputs, targets, self.classifier)

    def outputs(self, coords: Tensor, thetas: Tensor) -> Tensor:
        """Each point's outputs ``(m, n, …)`` through ``vmap`` over the remaining layers, or for
        images one point at a time in channels-last layout (:mod:`losslab.landscape.fused_images`)."""
        if self.images is not None:
            return self.images.many(coords, thetas, torch.addmm(self.center_first, coords, self.directions_first))
        z0, zk = self.zs[0], self.zs[1:]
        pre = torch.addmm(z0.reshape(1, -1), coords, zk.reshape(len(zk), -1)).reshape(len(coords), *z0.shape)
        return vmap(self._rest_forward)(thetas, pre)  # type: ignore[no-any-return]

    def _class_outputs(self) -> bool:
        """Whether the outputs are class logits ``(n, C)`` (a Linear last) under torch's default cross-entropy."""
        linears = [m for m in self.rest.modules() if isinstance(m, nn.Linear)]
        return bool(linears) and isinstance(self.rest[-1], nn.Linear) and self._by_class(linears[-1].out_features)

    def _by_class(self, classes: int) -> bool:
        """Torch's default cross-entropy on class indices in ``[0, classes)``: reduced by :func:`class_sums`."""
        loss_fn = self.objective.loss_fn
        return is_cross_entropy(loss_fn) and class_targets(loss_fn, self.targets, classes)

    def _chain(self) -> LinearChain | None:
        if not (self.zs.dim() == 3 and all(isinstance(m, (nn.Linear, *ELEMENTWISE)) for m in self.rest)):
            return None
        linears = [m for m in self.rest if isinstance(m, nn.Linear)]
        classes = linears[-1].out_features if linears else self.zs.shape[-1]
        sizes = [s.numel() for s in self.rest_shapes.values()]
        return LinearChain(self.rest, sizes, self.zs, self.targets, self._by_class(classes))

    def _rest_forward(self, theta: Tensor, z: Tensor) -> Tensor:
        params = named_views(theta, self.rest_shapes)
        return functional_call(self.rest, (params, self.buffers), (z,))  # type: ignore[no-any-return]


def _layer_at(objective: NetworkObjective, layer: nn.Module, own: list[str], flat: Tensor, x: Tensor) -> Tensor:
    views = named_views(flat, {name: objective.shapes[name] for name in own})
    params = {name.split(".", 1)[1]: view for name, view in views.items()}
    return functional_call(layer, params, (x,))  # type: ignore[no-any-return]
