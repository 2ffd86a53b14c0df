"""Tests for hfgen.metrics: FID / KID, Inception Score, class diversity, precision / recall,
density / coverage and the Gaussian-mixture mode score. References are computed in the tests
(scipy.linalg.sqrtm for FID) or by hand."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import linalg

from hfgen.metrics import (
    class_diversity,
    density_coverage,
    feature_stats,
    fid_from_features,
    fid_from_stats,
    inception_score,
    kid_from_features,
    precision_recall,
    score_mixture,
)


def _correlated(rng: np.random.Generator, n: int, d: int, shift: float = 0.0) -> np.ndarray:
    w = rng.standard_normal((d, d)) / math.sqrt(d) + np.eye(d)
    return rng.standard_normal((n, d)) @ w + shift


def _fid_scipy(x: np.ndarray, y: np.ndarray) -> float:
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


# ------------------------------------------------------------------------------------------- FID


def test_fid_matches_scipy_sqrtm_n_greater_than_d():
    rng = np.random.default_rng(0)
    x, y = _correlated(rng, 500, 64), _correlated(rng, 400, 64, shift=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # n > d: no warning
        got = fid_from_features(x, y)
    ref = _fid_scipy(x, y)
    assert got == pytest.approx(ref, rel=1e-6)


def test_fid_matches_scipy_sqrtm_n_less_than_d_with_warning():
    rng = np.random.default_rng(1)
    x, y = _correlated(rng, 40, 64), _correlated(rng, 50, 64, shift=0.5)
    with pytest.warns(UserWarning, match="n <= d"):
        got = fid_from_features(x, y)
    # the reference: sqrtm of the (singular) product; compare traces of eigenvalue square roots too
    ev = np.linalg.eigvals(np.cov(x, rowvar=False) @ np.cov(y, rowvar=False))
    tr_sqrt = np.sqrt(np.clip(ev.real, 0, None)).sum()
    mu = x.mean(0) - y.mean(0)
    ref_eig = mu @ mu + np.trace(np.cov(x, rowvar=False)) + np.trace(np.cov(y, rowvar=False)) - 2 * tr_sqrt
    assert got == pytest.approx(ref_eig, rel=1e-6)
    assert got == pytest.approx(_fid_scipy(x, y), rel=1e-6)


def test_fid_routes_agree():
    # same data through fid_from_features (Gram route, n < d) and fid_from_stats (covariance route)
    rng = np.random.default_rng(2)
    x, y = _correlated(rng, 30, 48), _correlated(rng, 35, 48, shift=0.2)
    with pytest.warns(UserWarning):
        gram = fid_from_features(x, y)
    cov = fid_from_stats(*feature_stats(x), *feature_stats(y))
    assert gram == pytest.approx(cov, rel=1e-8)


def test_fid_identical_sets_is_zero():
    rng = np.random.default_rng(3)
    x = _correlated(rng, 300, 32)
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-8)


def test_fid_shifted_gaussians_is_squared_shift():
    rng = np.random.default_rng(4)
    shift = np.full(8, 0.5)
    x = rng.standard_normal((20000, 8))
    fid = fid_from_features(x, x + shift)  # same covariance: FID = ||shift||^2 exactly
    assert fid == pytest.approx(float(shift @ shift), rel=1e-9)
    y = rng.standard_normal((20000, 8)) + shift  # independent sample: only approximately
    assert fid_from_features(x, y) == pytest.approx(float(shift @ shift), abs=0.05)


def test_fid_input_validation():
    with pytest.raises(ValueError, match="2-D"):
        fid_from_features(np.zeros(10), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="same dimension"):
        fid_from_features(np.zeros((10, 3)), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="shape"):
        fid_from_stats(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))


# ------------------------------------------------------------------------------------------- KID


def test_kid_same_and_shifted_distributions():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((400, 16)), rng.standard_normal((400, 16))
    mean, std = kid_from_features(x, y, subsets=10, subset_size=200)
    assert abs(mean) < 3 * std + 1e-3
    shifted_mean, _ = kid_from_features(x, y + 1.0, subsets=10, subset_size=200)
    assert shifted_mean > 0.5 and shifted_mean > 20 * abs(mean)


def test_kid_matches_hand_computed_unbiased_mmd():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 3)) + 0.5

    def k(a, b):
        return (a @ b / 3 + 1) ** 3

    m = 6
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    mean, std = kid_from_features(x, y, subsets=3, subset_size=6)  # full sets: every subset equal
    assert mean == pytest.approx(xx + yy - 2 * xy, rel=1e-10)
    assert std == pytest.approx(0.0, abs=1e-10)


def test_kid_clips_subset_size_with_warning():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((30, 4)), rng.standard_normal((20, 4))
    with pytest.warns(UserWarning, match="subset_size"):
        kid_from_features(x, y, subsets=2, subset_size=1000)


# -------------------------------------------------------------------------------------------- IS


def test_inception_score_uniform_one_hot_and_constant():
    probs = np.eye(10)[np.arange(1000) % 10]
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(10.0, rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-9)
    const = np.full((100, 10), 0.1)
    assert inception_score(const, splits=5)[0] == pytest.approx(1.0, abs=1e-12)


def test_inception_score_rejects_logits():
    with pytest.raises(ValueError, match="logits"):
        inception_score(np.random.default_rng(0).standard_normal((20, 5)), splits=2)


# ------------------------------------------------------------------------------ class diversity


def test_class_diversity_single_class_and_uniform():
    single = class_diversity(np.zeros(50, dtype=int), num_classes=10)
    assert single["classes_covered"] == 1
    assert single["histogram"] == [50] + [0] * 9
    assert single["kl_to_uniform"] == pytest.approx(math.log(10))
    assert single["entropy"] == pytest.approx(0.0)
    probs = np.eye(10)[np.arange(200) % 10] * 0.9 + 0.01  # argmax = label
    uniform = class_diversity(probs)
    assert uniform["num_classes"] == 10 and uniform["classes_covered"] == 10
    assert uniform["histogram"] == [20] * 10
    assert uniform["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)
    assert uniform["entropy"] == pytest.approx(math.log(10))


# ------------------------------------------------------------------ precision/recall, density/coverage


def test_precision_recall_identical_and_disjoint():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((200, 5))
    assert precision_recall(x, x, k=3) == {"precision": 1.0, "recall": 1.0}
    far = precision_recall(x, x + 100.0, k=3)
    assert far == {"precision": 0.0, "recall": 0.0}


def test_precision_recall_partial_mode_collapse():
    rng = np.random.default_rng(9)
    real = np.concatenate([rng.standard_normal((200, 2)) - 10, rng.standard_normal((200, 2)) + 10])
    fake = rng.standard_normal((400, 2)) + 10  # only one of the two modes
    pr = precision_recall(real, fake, k=3)
    assert pr["precision"] > 0.9
    assert 0.35 < pr["recall"] < 0.55


def test_density_coverage_identical_and_disjoint():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((300, 4))
    same = density_coverage(x, x, k=5)
    assert same["coverage"] == 1.0
    assert 0.7 < same["density"] < 1.3
    far = density_coverage(x, x + 100.0, k=5)
    assert far == {"density": 0.0, "coverage": 0.0}


def test_manifold_metrics_validate_k():
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match="k="):
        precision_recall(x, x, k=5)
    with pytest.raises(ValueError, match="k="):
        density_coverage(x, x, k=7)


# ---------------------------------------------------------------------------------- mixtures


def _ring(k: int = 8, radius: float = 2.0) -> np.ndarray:
    angles = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def test_score_mixture_exact_modes():
    means = _ring()
    res = score_mixture(np.repeat(means, 5, axis=0), means, std=0.02)
    assert res == {"modes": 8, "num_modes": 8, "high_quality_fraction": 1.0, "reverse_kl": 0.0}


def test_score_mixture_single_mode():
    means = _ring()
    rng = np.random.default_rng(11)
    samples = means[3] + 0.01 * rng.standard_normal((100, 2))
    res = score_mixture(samples, means, std=0.02)
    assert res["modes"] == 1 and res["high_quality_fraction"] == 1.0
    assert res["reverse_kl"] == pytest.approx(math.log(8))


def test_score_mixture_far_from_every_mode():
    means = _ring()
    samples = np.zeros((50, 2))  # ring centre: distance 2 = 100 std from every mode
    res = score_mixture(samples, means, std=0.02)
    assert res["modes"] == 0 and res["high_quality_fraction"] == 0.0
    assert res["reverse_kl"] == pytest.approx(math.log(8))  # documented convention


def test_score_mixture_threshold_boundary():
    means = _ring()
    std = 0.02
    directions = np.array([[1.0, 0.0], [0.0, 1.0], [-0.6, 0.8], [0.6, -0.8]])
    near = means[:4] + 2.9 * std * directions
    far = means[:4] + 3.1 * std * directions
    res = score_mixture(np.concatenate([near, far]), means, std=std)
    assert res["high_quality_fraction"] == pytest.approx(0.5)
    assert res["modes"] == 4
    assert res["reverse_kl"] == pytest.approx(math.log(8 / 4))  # uniform over 4 of 8 modes


# ------------------------------------------------------------------------------ paired: L1, PSNR, SSIM


def _ssim_reference(x: np.ndarray, y: np.ndarray, data_range: float = 1.0) -> float:
    """SSIM as Wang et al. 2004 define it (and scikit-image computes it with gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False), written independently with scipy's Gaussian filter:
    filter the whole image, then keep the positions whose 11x11 window lies inside it (crop 5)."""
    from scipy.ndimage import gaussian_filter

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for a, b in zip(x, y):  # channels
        a, b = a.astype(np.float64), b.astype(np.float64)
        f = lambda t: gaussian_filter(t, sigma=1.5, truncate=3.5, mode="reflect")  # noqa: E731 - radius 5: an 11x11 window
        mu_a, mu_b = f(a), f(b)
        va, vb, cov = f(a * a) - mu_a**2, f(b * b) - mu_b**2, f(a * b) - mu_a * mu_b
        s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (va + vb + c2))
        values.append(s[5:-5, 5:-5].mean())
    return float(np.mean(values))


def test_ssim_matches_the_papers_formula():
    """Guards the SSIM of hfgen.metrics.paired against an independent implementation of Wang et al. 2004
    (Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03, valid positions), RGB and grey, smooth and noisy."""
    import torch

    from hfgen.metrics import ssim

    rng = np.random.default_rng(0)
    base = rng.random((2, 3, 32, 40))
    smooth = np.stack([np.stack([np.outer(np.sin(np.linspace(0, k + c, 32)), np.cos(np.linspace(0, 2, 40))) * 0.5 + 0.5
                                 for c in range(3)]) for k in (1, 3)])
    for x in (base, smooth):
        y = np.clip(x + 0.1 * rng.standard_normal(x.shape), 0, 1)
        got = ssim(torch.from_numpy(x), torch.from_numpy(y))
        assert got.shape == (2,)
        for i in range(2):
            assert got[i].item() == pytest.approx(_ssim_reference(x[i], y[i]), abs=1e-10)
    grey = rng.random((1, 1, 28, 28))
    blurred = np.clip(grey * 0.7 + 0.15, 0, 1)
    assert ssim(torch.from_numpy(grey), torch.from_numpy(blurred)).item() == pytest.approx(
        _ssim_reference(grey[0], blurred[0]), abs=1e-10)


def test_ssim_properties_and_a_hand_computed_case():
    """SSIM(x, x) = 1, symmetric, falls as noise grows; two constant images a, b: the variances are 0,
    so SSIM = (2ab + C1) / (a^2 + b^2 + C1) exactly (the structure term is C2 / C2)."""
    import torch

    from hfgen.metrics import ssim

    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 1, 16, 16, generator=g, dtype=torch.float64)
    assert torch.allclose(ssim(x, x), torch.ones(3, dtype=torch.float64), atol=1e-12)
    y = (x + 0.2 * torch.randn(x.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    assert torch.allclose(ssim(x, y), ssim(y, x), atol=1e-12)
    noise = torch.randn(x.shape, generator=g, dtype=torch.float64)
    values = [ssim(x, (x + s * noise).clamp(0, 1)).mean().item() for s in (0.0, 0.05, 0.1, 0.2, 0.4)]
    assert all(a > b for a, b in zip(values, values[1:])), values
    a, b, c1 = 0.3, 0.8, 0.01**2
    const_a, const_b = (torch.full((1, 3, 12, 12), v, dtype=torch.float64) for v in (a, b))
    assert ssim(const_a, const_b).item() == pytest.approx((2 * a * b + c1) / (a * a + b * b + c1), rel=1e-12)
    # 8x8 images (the digits) use the largest odd window that fits (7): still 1 for identical images
    small = torch.rand(2, 1, 8, 8, generator=g)
    assert torch.allclose(ssim(small, small), torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="same shape"):
        ssim(x, x[:, :, :8])
    with pytest.raises(ValueError, match="at least 3x3"):
        ssim(torch.rand(1, 1, 2, 2), torch.rand(1, 1, 2, 2))


def test_l1_and_psnr_known_values():
    """L1 and PSNR on [0, 1] images: a uniform error of 0.1 gives L1 0.1 and PSNR 20 dB (MSE 0.01);
    0.01 gives 40 dB; identical images give PSNR inf."""
    import torch

    from hfgen.metrics import l1_distance, psnr

    x = torch.full((2, 3, 4, 4), 0.5)
    y = x.clone()
    y[0] += 0.1
    y[1] -= 0.01
    assert l1_distance(x, y).tolist() == pytest.approx([0.1, 0.01])
    assert psnr(x, y).tolist() == pytest.approx([20.0, 40.0])
    assert psnr(x, x).isinf().all()
    assert psnr(x * 255, y * 255, data_range=255).tolist() == pytest.approx([20.0, 40.0])
    with pytest.raises(ValueError, match="NaN"):
        l1_distance(x, torch.full_like(x, float("nan")))
