"""Directions against the definitions of Li et al. (2018), written out filter by filter."""

from __future__ import annotations

import pytest
import torch
from landscape_helpers import seeded, small_cnn
from torch import nn

from losslab.errors import LosslabError
from losslab.landscape import make_directions, normalize_direction, pca_directions, plane_through, random_directions
from losslab.objectives.network import NetworkObjective
from network_oracles import with_statistics


@pytest.fixture
def cnn(data64) -> NetworkObjective:
    x, y = data64
    return NetworkObjective(with_statistics(seeded(small_cnn).double(), x), (x, y))


def test_filter_normalization_matches_the_paper_per_filter(cnn: NetworkObjective, generator) -> None:
    raw = torch.randn(cnn.dim, generator=generator, dtype=torch.float64)
    got = cnn.unflatten(normalize_direction(cnn, raw, "filter", "zero"))
    raw_pieces, theta = cnn.unflatten(raw), cnn.unflatten(cnn.center)
    # conv weight (3, 1, 3, 3): one filter per output channel; linear weight (3, 48): one per output neuron
    for name in ("1.weight", "5.weight"):
        for f in range(theta[name].shape[0]):
            expected = raw_pieces[name][f] / raw_pieces[name][f].norm() * theta[name][f].norm()
            torch.testing.assert_close(got[name][f], expected, rtol=1e-14, atol=0)
    # biases and BatchNorm's weight and bias are zero by default
    for name in ("1.bias", "2.weight", "2.bias", "5.bias"):
        assert torch.count_nonzero(got[name]) == 0


def test_included_biases_and_batchnorm_are_each_one_filter(cnn: NetworkObjective, generator) -> None:
    raw = torch.randn(cnn.dim, generator=generator, dtype=torch.float64)
    got = cnn.unflatten(normalize_direction(cnn, raw, "filter", "include"))
    raw_pieces, theta = cnn.unflatten(raw), cnn.unflatten(cnn.center)
    for name in ("1.bias", "2.weight", "2.bias", "5.bias"):
        expected = raw_pieces[name] / raw_pieces[name].norm() * theta[name].norm()
        torch.testing.assert_close(got[name], expected, rtol=1e-14, atol=0)


def test_layer_normalization_rescales_each_tensor(cnn: NetworkObjective, generator) -> None:
    raw = torch.randn(cnn.dim, generator=generator, dtype=torch.float64)
    got = cnn.unflatten(normalize_direction(cnn, raw, "layer", "include"))
    for name, piece in cnn.unflatten(cnn.center).items():
        assert float(got[name].norm()) == pytest.approx(float(piece.norm()), rel=1e-13)
        if float(piece.norm()) == 0:  # BatchNorm's bias starts at 0: a zero tensor scales the direction to 0
            continue
        cosine = torch.nn.functional.cosine_similarity(got[name].reshape(-1), cnn.unflatten(raw)[name].reshape(-1), 0)
        assert float(cosine) == pytest.approx(1.0, rel=1e-13)


def test_random_directions_are_seeded_gaussian_and_recorded(cnn: NetworkObjective) -> None:
    first, again, other = (random_directions(cnn, normalization="none", seed=s) for s in (11, 11, 12))
    assert torch.equal(first.vectors, again.vectors) and not torch.equal(first.vectors, other.vectors)
    expected = torch.randn(2, cnn.dim, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    expected = torch.stack([normalize_direction(cnn, e, "none", "zero") for e in expected])
    torch.testing.assert_close(first.vectors, expected, rtol=0, atol=0)
    assert first.provenance()["seed"] == 11 and first.kind == "random"


def test_pca_matches_scikit_learn(cnn: NetworkObjective, generator) -> None:
    from sklearn.decomposition import PCA

    path = [cnn.center + 0.1 * t * torch.randn(cnn.dim, generator=generator, dtype=torch.float64) for t in range(6)]
    directions = pca_directions(cnn, path)
    reference = PCA(n_components=2).fit((torch.stack(path) - path[-1]).numpy())
    for ours, theirs in zip(directions.vectors, torch.from_numpy(reference.components_), strict=True):
        assert abs(float(ours @ theirs)) == pytest.approx(1.0, abs=1e-10)  # the same axis, up to sign
    assert directions.explained_variance_ratio == pytest.approx(tuple(reference.explained_variance_ratio_), rel=1e-10)
    assert torch.equal(directions.center, path[-1])


def test_plane_through_three_checkpoints(cnn: NetworkObjective) -> None:
    c0, c1, c2 = cnn.center, cnn.center + 1.0, cnn.center - 2.0
    plane = plane_through(cnn, [c0, c1, c2])
    torch.testing.assert_close(plane.center + plane.vectors[0], c1)
    torch.testing.assert_close(plane.center + plane.vectors[1], c2)


def test_hessian_directions_when_curvature_exists(cnn: NetworkObjective) -> None:
    curvature = pytest.importorskip("losslab.curvature")
    if not hasattr(curvature, "top_eigenvalues"):
        pytest.skip("losslab.curvature has no top_eigenvalues yet")
    directions = make_directions(cnn, "hessian")
    hessian = cnn.hessian(cnn.center)
    for vector, value in zip(directions.vectors, directions.eigenvalues or (), strict=True):
        torch.testing.assert_close(hessian @ vector, value * vector, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda L: normalize_direction(L, L.center, "unit"), "normalization 'unit'"),
        (lambda L: normalize_direction(L, L.center, "filter", "some"), "bias_bn 'some'"),
        (lambda L: random_directions(L, 3), "k = 3"),
        (lambda L: make_directions(L, "sideways"), "directions 'sideways'"),
        (lambda L: make_directions(L, "interpolate"), "second checkpoint"),
        (lambda L: pca_directions(L, [L.center]), "PCA of 1 checkpoints"),
        (lambda L: plane_through(L, [L.center, torch.zeros(3)]), "exactly 3"),
        (lambda L: plane_through(L, [L.center, L.center, torch.zeros(3)]), r"shape \(3,\)"),
    ],
    ids=["normalization", "bias-bn", "k", "kind", "interpolate-alone", "pca-too-few", "plane-count", "plane-shape"],
)
def test_bad_direction_requests_are_refused(cnn: NetworkObjective, call, words) -> None:
    with pytest.raises(LosslabError, match=words):
        call(cnn)


def test_module_checkpoints_are_accepted(cnn: NetworkObjective) -> None:
    other = seeded(small_cnn, seed=1).double()
    line = make_directions(cnn, "interpolate", checkpoints=[other])
    torch.testing.assert_close(line.center + line.vectors[0], nn.utils.parameters_to_vector(other.parameters()))
