"""The fused evaluation of an ``nn.Sequential``: its first parameterized layer once per direction.

For ``Θ = c + Σ_k C_k d_k`` the first Linear/Conv layer's output is affine in the coordinates,
``z(Θ) = z(c) + Σ_k C_k · z_lin(d_k)`` (``z_lin``: the layer with the direction's weight and
bias), so it is computed k + 1 times for the whole grid. The layers after it run either as a
:class:`~losslab.landscape.fused_chain.LinearChain` (Linear layers and elementwise activations on
2-D inputs: batched matmuls, tiled over samples, with a fast cross-entropy), or as a ``vmap``
over ``functional_call`` of the remaining layers (anything else: conv, BatchNorm, pooling).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap
from torch.nn.utils.fusion import fuse_conv_bn_weights

from losslab.landscape.fused_chain import LinearChain, class_targets, is_cross_entropy
from losslab.network import NetworkObjective

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
        self, objective: NetworkObjective, rest: nn.Sequential, zs: Tensor, center: Tensor, vectors: Tensor
    ) -> None:
        n_first = center.numel() - sum(p.numel() for p in rest.parameters())
        self.objective, self.rest, self.zs = objective, rest, zs
        self.classifier = _is_classifier(objective)
        self.rest_shapes = {
            name: objective.shapes[name]
            for name in list(objective.shapes)[len(objective.shapes) - len(list(rest.parameters())) :]
        }
        self.center_rest, self.directions_rest = center[n_first:], vectors[:, n_first:]
        self.buffers = {k: v for k, v in objective.buffers.items() if k.split(".", 1)[0] in rest._modules}
        self.chain = self._chain()
        # 2-D convolutions after the first layer: one point at a time in channels-last layout (below)
        self.images = self.chain is None and zs.dim() == 5 and any(isinstance(m, nn.Conv2d) for m in rest.modules())
        if self.images:
            self.zs = torch.stack([z.contiguous(memory_format=torch.channels_last) for z in zs])

    @classmethod
    def build(cls, objective: NetworkObjective, center: Tensor, vectors: Tensor) -> FusedSequential | None:
        """The fused evaluator, or None where it does not apply (not a Sequential, no affine first layer, …)."""
        model = objective.model
        if not isinstance(model, nn.Sequential) or not isinstance(objective.data, tuple):
            return None
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
        with torch.no_grad():
            for module in list(model)[:first]:
                x = module(x)
            zs = torch.stack([_layer_at(objective, layer, own, v[:n_first], x) for v in (center, *vectors)])
        rest = nn.Sequential(OrderedDict(list(model.named_children())[first + 1 :]))  # keeps the names "2.weight", …
        return cls(objective, rest, zs, center, vectors)

    def __call__(self, coords: Tensor) -> ChunkResult:
        """(loss, accuracy or None) at each row of ``coords``."""
        thetas = torch.addmm(self.center_rest, coords, self.directions_rest)
        targets = self.objective.data[1]  # type: ignore[index]
        if self.chain is not None:
            out, correct = self.chain(coords, thetas)
            if correct is None:
                return finish(self.objective, out, targets, self.classifier)
            n = len(targets)
            return out / n, correct / n
        return finish(self.objective, self.outputs(coords, thetas), targets, self.classifier)

    def outputs(self, coords: Tensor, thetas: Tensor) -> Tensor:
        """Each point's outputs ``(m, n, …)`` through ``vmap`` over the remaining layers.

        For images (a Conv2d after the first layer) the points go one at a time instead, each
        pre-activation formed in channels-last layout: oneDNN's convolutions and max-pooling are
        2–15× faster on it than on a vmapped (grouped) batch in the default layout (the digits CNN:
        35 → ~10 ms per point on this machine's 2 threads).
        """
        if self.images:
            return torch.stack(
                [self._image_forward(c, theta) for c, theta in zip(coords.tolist(), thetas, strict=True)]
            )
        z0, zk = self.zs[0], self.zs[1:]
        pre = torch.addmm(z0.reshape(1, -1), coords, zk.reshape(len(zk), -1)).reshape(len(coords), *z0.shape)
        return vmap(self._rest_forward)(thetas, pre)  # type: ignore[no-any-return]

    def _chain(self) -> LinearChain | None:
        if not (self.zs.dim() == 3 and all(isinstance(m, (nn.Linear, *ELEMENTWISE)) for m in self.rest)):
            return None
        linears = [m for m in self.rest if isinstance(m, nn.Linear)]
        classes = linears[-1].out_features if linears else self.zs.shape[-1]
        targets = self.objective.data[1]  # type: ignore[index]
        cross_entropy = is_cross_entropy(self.objective.loss_fn) and class_targets(
            self.objective.loss_fn, targets, classes
        )
        sizes = [s.numel() for s in self.rest_shapes.values()]
        return LinearChain(self.rest, sizes, self.zs, targets, cross_entropy)

    def _image_forward(self, coords: list[float], theta: Tensor) -> Tensor:
        """One point through the remaining layers, module by module.

        A Conv2d followed by a BatchNorm2d (eval mode: the running statistics) runs as one conv with
        the BatchNorm folded into its weights (``torch.nn.utils.fusion.fuse_conv_bn_weights``, per
        point: θ holds both layers' parameters); ReLU runs in place on the point's own activations;
        every other module through ``functional_call`` with its slice of θ.
        """
        pre = torch.add(self.zs[0], self.zs[1], alpha=coords[0])
        for c, z in zip(coords[1:], self.zs[2:], strict=True):
            pre.add_(z, alpha=c)
        params = self._params(theta)
        modules = list(self.rest.named_children())
        h, i = pre, 0
        while i < len(modules):
            name, module = modules[i]
            after = modules[i + 1] if i + 1 < len(modules) else None
            if isinstance(module, nn.Conv2d) and after is not None and isinstance(after[1], nn.BatchNorm2d):
                weight, bias = _folded(module, name, after, params, self.buffers)
                h, i = module._conv_forward(h, weight, bias), i + 2
            elif isinstance(module, nn.ReLU):
                h, i = h.relu_(), i + 1
            else:
                h, i = functional_call(module, (_own(params, name), _own(self.buffers, name)), (h,)), i + 1
        return h

    def _params(self, theta: Tensor) -> dict[str, Tensor]:
        """θ's slice for the remaining layers as named tensors (views)."""
        pieces = theta.split([s.numel() for s in self.rest_shapes.values()])
        return {n: p.view(s) for (n, s), p in zip(self.rest_shapes.items(), pieces, strict=True)}

    def _rest_forward(self, theta: Tensor, z: Tensor) -> Tensor:
        return functional_call(self.rest, (self._params(theta), self.buffers), (z,))  # type: ignore[no-any-return]


def _own(tensors: dict[str, Tensor], name: str) -> dict[str, Tensor]:
    return {k[len(name) + 1 :]: v for k, v in tensors.items() if k.startswith(f"{name}.")}


def _folded(
    conv: nn.Conv2d,
    name: str,
    after: tuple[str, nn.Module],
    params: dict[str, Tensor],
    buffers: dict[str, Tensor],
) -> tuple[Tensor, Tensor]:
    """The conv's weight and bias with the following eval-mode BatchNorm folded in, at this point's θ."""
    bn_name, bn = after
    conv_p, bn_p, bn_b = _own(params, name), _own(params, bn_name), _own(buffers, bn_name)
    return fuse_conv_bn_weights(  # type: ignore[no-any-return]
        conv_p["weight"],
        conv_p.get("bias"),
        bn_b["running_mean"],
        bn_b["running_var"],
        bn.eps,  # type: ignore[arg-type]
        bn_p.get("weight"),
        bn_p.get("bias"),
    )


def _is_classifier(objective: NetworkObjective) -> bool:
    targets = objective.data[1] if isinstance(objective.data, tuple) else next(iter(objective.data))[1]
    return bool(targets.dim() == 1 and not targets.is_floating_point())


def _layer_at(objective: NetworkObjective, layer: nn.Module, own: list[str], flat: Tensor, x: Tensor) -> Tensor:
    shapes = [objective.shapes[name] for name in own]
    pieces = flat.split([s.numel() for s in shapes])
    params = {name.split(".", 1)[1]: p.view(s) for name, s, p in zip(own, shapes, pieces, strict=True)}
    return functional_call(layer, params, (x,))  # type: ignore[no-any-return]
