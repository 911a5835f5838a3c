"""The shipped key basis is orthonormal and preserves dot products of typical keys."""

import torch
import torch.nn.functional as F

from vos_core.models.archs.key_basis import fit_basis, load_basis


def test_shipped_basis_is_orthonormal() -> None:
    basis = load_basis()
    assert basis is not None, "vos_core/resources/lite0_key_basis.npy must ship with the package"
    assert basis.shape == (64, 152)
    assert torch.allclose(basis @ basis.t(), torch.eye(64), atol=1e-4)


def test_fit_basis_keeps_dot_products_of_low_rank_keys() -> None:
    g = torch.Generator().manual_seed(0)
    mix = torch.randn(32, 8, generator=g)
    keys = F.normalize(mix @ torch.randn(8, 500, generator=g), dim=0)
    basis = fit_basis(keys, 8)
    projected = basis @ keys
    assert torch.allclose(projected.t() @ projected, keys.t() @ keys, atol=1e-4)
