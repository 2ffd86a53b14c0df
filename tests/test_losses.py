"""Tests for hfgen.losses: adversarial losses on logits, f-GAN variational bounds, WGAN-GP,
weight clipping and reconstruction losses. Expected values are computed by hand with numpy."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy.special import ndtri
from scipy.stats import norm

from hfgen.losses import (
    LOSSES,
    AdversarialLoss,
    FDivergenceLoss,
    clip_weights,
    cycle_consistency_loss,
    get_loss,
    gradient_penalty,
    identity_loss,
    l1_loss,
    list_losses,
)

REAL = np.array([2.0, -1.0, 0.5])
FAKE = np.array([-0.5, 1.5, 0.0])
F_GANS = ["kl", "reverse_kl", "js", "pearson", "hellinger"]


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------- hand-written f-GAN
# (g_f, f*) straight from Nowozin et al. 2016, Table 2, written naively in numpy.
NP_FGAN = {
    "kl": (lambda v: v, lambda t: np.exp(t - 1.0)),
    "reverse_kl": (lambda v: -np.exp(-v), lambda t: -1.0 - np.log(-t)),
    "js": (lambda v: np.log(2.0) - np.log(1.0 + np.exp(-v)), lambda t: -np.log(2.0 - np.exp(t))),
    "pearson": (lambda v: v, lambda t: t**2 / 4.0 + t),
    "hellinger": (lambda v: 1.0 - np.exp(-v), lambda t: t / (1.0 - t)),
}


def _expected(name):
    """(D loss, G loss) computed by hand on REAL/FAKE logits."""
    r, f = REAL, FAKE
    if name == "vanilla":
        d = -np.mean(np.log(_sigmoid(r))) - np.mean(np.log(1.0 - _sigmoid(f)))
        return d, -np.mean(np.log(_sigmoid(f)))
    if name == "minimax":
        d = -np.mean(np.log(_sigmoid(r))) - np.mean(np.log(1.0 - _sigmoid(f)))
        return d, np.mean(np.log(1.0 - _sigmoid(f)))
    if name == "wgan":
        return np.mean(f) - np.mean(r), -np.mean(f)
    if name == "hinge":
        return np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f)), -np.mean(f)
    if name == "lsgan":
        return 0.5 * (np.mean((r - 1) ** 2) + np.mean(f**2)), 0.5 * np.mean((f - 1) ** 2)
    g, fstar = NP_FGAN[name]
    return -(np.mean(g(r)) - np.mean(fstar(g(f)))), -np.mean(fstar(g(f)))


# --------------------------------------------------------------------------- registry
def test_registry_contents_and_names():
    required = {"vanilla", "minimax", "wgan", "hinge", "lsgan", *F_GANS}
    assert required <= set(list_losses())
    assert list_losses() == sorted(LOSSES)
    for name, cls in LOSSES.items():
        assert issubclass(cls, AdversarialLoss)
        loss = get_loss(name)
        assert loss.name == name and isinstance(loss, cls)
        assert loss.__doc__ and loss.__doc__.strip()


@pytest.mark.parametrize(
    "alias,canonical",
    [("non_saturating", "vanilla"), ("jensen_shannon", "js"), ("Reverse-KL", "reverse_kl"),
     ("wasserstein", "wgan"), ("least_squares", "lsgan"), ("squared_hellinger", "hellinger")],
)
def test_aliases(alias, canonical):
    assert type(get_loss(alias)) is LOSSES[canonical]


def test_unknown_name_lists_known_names_sorted():
    with pytest.raises(ValueError) as exc:
        get_loss("no_such_gan")
    msg = str(exc.value)
    assert "no_such_gan" in msg
    assert str(sorted(LOSSES)) in msg


# --------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("name", ["vanilla", "minimax", "wgan", "hinge", "lsgan", *F_GANS])
def test_losses_match_hand_computed_closed_form(name):
    loss = get_loss(name)
    d_exp, g_exp = _expected(name)
    d = loss.discriminator_loss(_t(REAL), _t(FAKE))
    g = loss.generator_loss(_t(FAKE))
    assert d.dim() == 0 and g.dim() == 0
    assert d.item() == pytest.approx(d_exp, rel=1e-10, abs=1e-12)
    assert g.item() == pytest.approx(g_exp, rel=1e-10, abs=1e-12)
    # real_logits is accepted and ignored by these losses; [N, 1] logits give the same value
    g2 = loss.generator_loss(_t(FAKE)[:, None], real_logits=_t(REAL)[:, None])
    assert g2.item() == pytest.approx(g_exp, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("name", F_GANS)
def test_fgan_non_saturating_generator(name):
    g, _ = NP_FGAN[name]
    loss = get_loss(name, non_saturating=True)
    assert loss.generator_loss(_t(FAKE)).item() == pytest.approx(-np.mean(g(FAKE)), rel=1e-10)
    # the discriminator side does not change
    d_exp, _ = _expected(name)
    assert loss.discriminator_loss(_t(REAL), _t(FAKE)).item() == pytest.approx(d_exp, rel=1e-10)


@pytest.mark.parametrize("name", ["vanilla", "minimax", "js", "hellinger", "reverse_kl"])
def test_stable_on_extreme_logits(name):
    loss = get_loss(name)
    real = torch.tensor([60.0, 80.0], dtype=torch.float32, requires_grad=True)
    fake = torch.tensor([-60.0, -80.0], dtype=torch.float32, requires_grad=True)
    d = loss.discriminator_loss(real, fake)
    d.backward()
    assert torch.isfinite(d) and torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()
    if name in ("vanilla", "minimax"):
        assert d.item() == pytest.approx(0.0, abs=1e-6)  # perfect D
    if name == "js":
        assert d.item() == pytest.approx(-2 * math.log(2.0), abs=1e-6)  # -2 JSD at its max


# --------------------------------------------------------------------------- label smoothing
def test_vanilla_label_smoothing_matches_bce_with_target():
    y = 0.9
    loss = get_loss("vanilla")
    s_r = _sigmoid(REAL)
    expected = -np.mean(y * np.log(s_r) + (1 - y) * np.log(1 - s_r)) - np.mean(
        np.log(1 - _sigmoid(FAKE)))
    got = loss.discriminator_loss(_t(REAL), _t(FAKE), real_label=y).item()
    assert got == pytest.approx(expected, rel=1e-10)
    assert got != pytest.approx(loss.discriminator_loss(_t(REAL), _t(FAKE)).item(), rel=1e-3)
    # one-sided: generator loss untouched
    assert loss.generator_loss(_t(FAKE)).item() == pytest.approx(_expected("vanilla")[1])


def test_lsgan_label_smoothing():
    got = get_loss("lsgan").discriminator_loss(_t(REAL), _t(FAKE), real_label=0.9).item()
    assert got == pytest.approx(0.5 * (np.mean((REAL - 0.9) ** 2) + np.mean(FAKE**2)), rel=1e-10)


@pytest.mark.parametrize("name", ["wgan", "hinge", *F_GANS])
def test_label_smoothing_rejected(name):
    with pytest.raises(ValueError, match="vanilla"):
        get_loss(name).discriminator_loss(_t(REAL), _t(FAKE), real_label=0.9)
    get_loss(name).discriminator_loss(_t(REAL), _t(FAKE), real_label=1.0)  # default is fine


def test_label_smoothing_flags_and_range():
    supported = {n for n, c in LOSSES.items() if c.supports_label_smoothing}
    assert supported == {"vanilla", "minimax", "lsgan"}
    with pytest.raises(ValueError):
        get_loss("vanilla").discriminator_loss(_t(REAL), _t(FAKE), real_label=1.5)


# --------------------------------------------------------------------------- f-GAN theory
# Hand-derived logits of the optimal critic, v* = g_f^{-1}(f'(p/q)), as functions of log(p/q).
OPT_LOGIT = {
    "kl": lambda lr: 1.0 + lr,
    "reverse_kl": lambda lr: lr,
    "js": lambda lr: lr,
    "pearson": lambda lr: 2.0 * np.expm1(lr),
    "hellinger": lambda lr: 0.5 * lr,
}

# (mu_p, s_p, mu_q, s_q); P = real, Q = generator
CASES = [(0.0, 1.0, 1.0, 1.0), (0.0, 1.0, 1.0, 1.25)]


def _kl_gauss(m1, s1, m2, s2):
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def _true_divergence(name, case, x):
    mp, sp, mq, sq = case
    d = mp - mq
    equal = sp == sq
    if name == "kl":
        return d**2 / (2 * sp**2) if equal else _kl_gauss(mp, sp, mq, sq)
    if name == "reverse_kl":
        return d**2 / (2 * sp**2) if equal else _kl_gauss(mq, sq, mp, sp)
    if name == "pearson":
        if equal:
            return math.exp(d**2 / sp**2) - 1.0
        a, b = 1 / sp**2, 1 / sq**2  # chi2 = ∫ p^2/q - 1
        return a / math.sqrt(b * (2 * a - b)) * math.exp(a * b * d**2 / (2 * a - b)) - 1.0
    if name == "hellinger":  # ∫ (sqrt p - sqrt q)^2 = 2 (1 - BC)
        if equal:
            bc = math.exp(-(d**2) / (8 * sp**2))
        else:
            bc = math.sqrt(2 * sp * sq / (sp**2 + sq**2)) * math.exp(-(d**2) / (4 * (sp**2 + sq**2)))
        return 2.0 * (1.0 - bc)
    if name == "js":  # no closed form: KL(P||M) + KL(Q||M) by quadrature, straight from densities
        p, q = norm.pdf(x, mp, sp), norm.pdf(x, mq, sq)
        m = 0.5 * (p + q)
        return np.trapezoid(p * np.log(p / m) + q * np.log(q / m), x)
    raise KeyError(name)


GRID = np.linspace(-15.0, 15.0, 30001)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", F_GANS)
def test_fgan_variational_bound_is_tight_at_optimal_critic(name, case):
    mp, sp, mq, sq = case
    loss = get_loss(name)
    assert isinstance(loss, FDivergenceLoss)
    x = GRID
    p, q = norm.pdf(x, mp, sp), norm.pdf(x, mq, sq)
    log_ratio = norm.logpdf(x, mp, sp) - norm.logpdf(x, mq, sq)
    ratio = _t(np.exp(log_ratio))
    true = _true_divergence(name, case, x)
    assert true > 0

    # the class's f is the right generator: D_f(P||Q) = ∫ q f(p/q)
    df = np.trapezoid(q * loss.f(ratio).numpy(), x)
    assert df == pytest.approx(true, rel=1e-6)

    # variational bound E_P[T*] - E_Q[f*(T*)] with T* = f'(p/q) reproduces D_f
    t_star = loss.optimal_critic_from_density_ratio(ratio)
    bound = np.trapezoid(p * t_star.numpy() - q * loss.conjugate(t_star).numpy(), x)
    assert bound == pytest.approx(true, rel=1e-3)

    # the hand-derived logits v* go through g_f to T*, and g_f^{-1} recovers them
    v_star = _t(OPT_LOGIT[name](log_ratio))
    torch.testing.assert_close(loss.activation(v_star), t_star, rtol=1e-9, atol=1e-9)
    mid = np.abs(x) < 8  # away from the far tails where T* is astronomically large
    torch.testing.assert_close(loss.inverse_activation(t_star[mid]), v_star[mid],
                               rtol=1e-7, atol=1e-7)

    # any other critic gives a strictly smaller bound (T* is the maximiser)
    for delta in (-0.3, 0.3):
        v = v_star + delta
        t = loss.activation(v)
        worse = np.trapezoid(p * t.numpy() - q * loss.conjugate(t).numpy(), x)
        assert worse < true - 1e-4


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", F_GANS)
def test_fgan_discriminator_loss_at_optimum_is_minus_divergence(name, case):
    # deterministic "samples": mid-quantiles of P and Q (equal-weight rule; its tail error is
    # ~4e-3 at worst here, hence the 1e-2 tolerance -- the quadrature test above is the tight one)
    mp, sp, mq, sq = case
    n = 100_000
    z = ndtri((np.arange(n) + 0.5) / n)
    xp, xq = mp + sp * z, mq + sq * z

    def v_star(x):
        return _t(OPT_LOGIT[name](norm.logpdf(x, mp, sp) - norm.logpdf(x, mq, sq)))

    loss = get_loss(name)
    d = loss.discriminator_loss(v_star(xp), v_star(xq)).item()
    true = _true_divergence(name, case, GRID)
    assert -d == pytest.approx(true, rel=1e-2)


@pytest.mark.parametrize("name", F_GANS)
def test_fgan_fused_loss_equals_generic_composition(name):
    loss = get_loss(name)
    v_r = torch.linspace(-4, 4, 41, dtype=torch.float64)
    v_f = torch.linspace(-3, 3.5, 37, dtype=torch.float64)
    generic = -(loss.activation(v_r).mean() - loss.conjugate(loss.activation(v_f)).mean())
    torch.testing.assert_close(loss.discriminator_loss(v_r, v_f), generic, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", F_GANS)
def test_fenchel_young_equality_and_conjugate_sup(name):
    loss = get_loss(name)
    u = torch.logspace(-1, 1, 25, dtype=torch.float64)
    fu, fp = loss.f(u), loss.f_prime(u)
    # f*(f'(u)) = u f'(u) - f(u)
    torch.testing.assert_close(loss.conjugate(fp), u * fp - fu, rtol=1e-10, atol=1e-10)
    # f*(t) = sup_u (u t - f(u)): check against a brute-force sup on a fine grid
    ugrid = torch.logspace(-4, 3, 200_001, dtype=torch.float64)
    fgrid = loss.f(ugrid)
    for t in fp[::6]:
        brute = torch.max(ugrid * t - fgrid)
        assert loss.conjugate(t).item() == pytest.approx(brute.item(), rel=1e-6, abs=1e-8)
    # f(1) = 0 so D_f(P||P) = 0
    assert loss.f(torch.ones(1, dtype=torch.float64)).item() == pytest.approx(0.0, abs=1e-15)


def test_js_discriminator_loss_bounded_below():
    # D_f = 2 JSD <= 2 log 2, so the discriminator loss is >= -2 log 2 for any logits
    loss = get_loss("js")
    v = torch.randn(64, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 5
    assert loss.discriminator_loss(v, -v).item() >= -2 * math.log(2) - 1e-12


# --------------------------------------------------------------------------- gradient penalty
def _linear_critic(dim, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(dim, 1).double()


@pytest.mark.parametrize("target_norm", [1.0, 2.0])
def test_gradient_penalty_linear_critic_exact(target_norm):
    critic = _linear_critic(5)
    real = torch.randn(8, 5, dtype=torch.float64)
    fake = torch.randn(8, 5, dtype=torch.float64)
    gp = gradient_penalty(critic, real, fake, target_norm=target_norm)
    w = critic.weight.detach().flatten()
    expected = (w.norm() - target_norm) ** 2
    torch.testing.assert_close(gp, expected, rtol=1e-12, atol=1e-12)
    # gradient reaches the critic: d/dw (||w|| - c)^2 = 2 (||w|| - c) w / ||w||; bias gets none
    gp.backward()
    torch.testing.assert_close(critic.weight.grad.flatten(),
                               2 * (w.norm() - target_norm) * w / w.norm())
    assert critic.bias.grad is None or torch.all(critic.bias.grad == 0)


def test_gradient_penalty_images_and_per_sample_eps_with_generator():
    # D(x) = 0.5 ||x||^2  =>  grad = x_hat = eps * real (fake = 0), ||grad|| = eps * ||real||
    def critic(x):
        return 0.5 * x.pow(2).flatten(1).sum(1)

    n = 6
    real = torch.full((n, 3, 4, 4), 0.5, dtype=torch.float64)  # ||real_i|| = 0.5 * sqrt(48)
    fake = torch.zeros_like(real)
    gp = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(123))
    eps = torch.rand(n, generator=torch.Generator().manual_seed(123), dtype=torch.float64)
    expected = ((eps * 0.5 * math.sqrt(48) - 1.0) ** 2).mean()
    torch.testing.assert_close(gp, expected, rtol=1e-12, atol=1e-12)
    assert len(set(eps.tolist())) == n  # eps differs per sample


def test_gradient_penalty_conditional_critic_args_kwargs_and_logits_output():
    torch.manual_seed(0)
    emb = torch.nn.Embedding(3, 4).double()

    def critic(x, labels, scale=1.0):
        return SimpleNamespace(logits=scale * (x * emb(labels)).sum(1, keepdim=True))

    labels = torch.tensor([0, 1, 2, 1, 0])
    real = torch.randn(5, 4, dtype=torch.float64)
    fake = torch.randn(5, 4, dtype=torch.float64)
    gp = gradient_penalty(critic, real, fake, labels, scale=2.0)
    norms = 2.0 * emb.weight.detach()[labels].norm(dim=1)  # grad_x = scale * emb[y]
    torch.testing.assert_close(gp, ((norms - 1.0) ** 2).mean(), rtol=1e-12, atol=1e-12)
    gp.backward()
    assert emb.weight.grad is not None and emb.weight.grad.abs().sum() > 0


def test_gradient_penalty_detaches_fake_and_checks_shapes():
    gen = torch.nn.Linear(3, 5).double()
    critic = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    critic = critic.double()
    fake = gen(torch.randn(4, 3, dtype=torch.float64))
    gp = gradient_penalty(critic, torch.randn(4, 5, dtype=torch.float64), fake)
    gp.backward()
    assert all(p.grad is None for p in gen.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in critic.parameters()
               if p.dim() == 2)
    with pytest.raises(ValueError):
        gradient_penalty(critic, torch.randn(4, 5), torch.randn(3, 5))


def test_gradient_penalty_packed_groups():
    # A PacGAN critic judges m = 2 consecutive samples jointly: D(x) = w . concat(x_2k, x_2k+1).
    # Its input gradient is w for each group, so the penalty is (||w|| - 1)^2 with grouping, and
    # the per-sample norms (||w_1||, ||w_2||) would be wrong. eps is shared within a group.
    torch.manual_seed(0)
    w = torch.randn(6, dtype=torch.float64)

    def packed_critic(x):
        return x.reshape(x.shape[0] // 2, -1) @ w

    real, fake = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 3, dtype=torch.float64)
    gp = gradient_penalty(packed_critic, real, fake, group_size=2)
    torch.testing.assert_close(gp, (w.norm() - 1.0) ** 2, rtol=1e-12, atol=1e-12)
    per_point = gradient_penalty(packed_critic, real, fake)
    expected_per_point = ((w[:3].norm() - 1) ** 2 + (w[3:].norm() - 1) ** 2) / 2
    torch.testing.assert_close(per_point, expected_per_point, rtol=1e-12, atol=1e-12)

    # One eps per group: with D(x) = 0.5 ||packed x||^2 and fake = 0, the gradient is eps_g * real_g.
    def quadratic(x):
        return 0.5 * x.reshape(x.shape[0] // 2, -1).pow(2).sum(1)

    gp = gradient_penalty(quadratic, real, torch.zeros_like(real), generator=torch.Generator().manual_seed(5), group_size=2)
    eps = torch.rand(4, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    norms = eps * real.reshape(4, -1).norm(dim=1)
    torch.testing.assert_close(gp, ((norms - 1.0) ** 2).mean(), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="group_size"):
        gradient_penalty(packed_critic, real, fake, group_size=3)


# --------------------------------------------------------------------------- weight clipping
def test_clip_weights():
    m = torch.nn.Linear(4, 3)
    with torch.no_grad():
        m.weight.copy_(torch.linspace(-2, 2, 12).reshape(3, 4))
        m.bias.copy_(torch.tensor([0.005, -0.5, 3.0]))
    before = m.weight.detach().clone()
    clip_weights(m, 0.01)
    assert m.weight.abs().max().item() <= 0.01 and m.bias.abs().max().item() <= 0.01
    torch.testing.assert_close(m.weight, before.clamp(-0.01, 0.01))
    assert m.bias[0].item() == pytest.approx(0.005)  # inside the box: untouched
    assert m.weight.requires_grad and m.weight.is_leaf and m.weight.grad is None
    for bad in (0.0, -0.1, float("nan")):
        with pytest.raises(ValueError):
            clip_weights(m, bad)


# --------------------------------------------------------------------------- reconstruction
def test_reconstruction_losses():
    a = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    b = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    expected = (1 + 2 + 0.5 + 2) / 4
    assert l1_loss(a, b).item() == pytest.approx(expected)
    assert cycle_consistency_loss(a, b).item() == pytest.approx(expected)
    assert identity_loss(a, b).item() == pytest.approx(expected)
    assert l1_loss(a, a).item() == 0.0
    with pytest.raises(ValueError):
        l1_loss(a, b[:1])
