"""Adversarial losses for GANs, all written on RAW LOGITS.

Conventions used throughout this module (names from the papers):

* ``D`` / ``T`` / ``V`` -- the discriminator / critic network. It returns a raw, unbounded
  logit ``v = V(x)`` (no sigmoid). Probabilistic losses apply ``sigmoid`` implicitly through
  ``softplus`` / ``logsigmoid``; f-GAN losses apply the output activation ``g_f`` so that
  ``T(x) = g_f(V(x))`` lies in the domain of the conjugate ``f*``.
* ``G`` -- the generator. ``P`` is the real (data) distribution, ``Q`` the model distribution.
* Every loss returns a scalar to **minimise**: ``discriminator_loss`` is minimised by D,
  ``generator_loss`` by G.

Identities used for numerical stability (``sigma`` = sigmoid, ``sp`` = softplus):
``-log sigma(v) = sp(-v)``, ``-log(1 - sigma(v)) = sp(v)``.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

__all__ = [
    "AdversarialLoss",
    "VanillaGANLoss",
    "MinimaxGANLoss",
    "FDivergenceLoss",
    "KLDivergenceLoss",
    "ReverseKLDivergenceLoss",
    "JensenShannonLoss",
    "PearsonChiSquaredLoss",
    "SquaredHellingerLoss",
    "WassersteinLoss",
    "HingeLoss",
    "LeastSquaresLoss",
    "LOSSES",
    "ALIASES",
    "register_loss",
    "get_loss",
    "list_losses",
]

_LOG2 = math.log(2.0)


def _as_tensor(x: torch.Tensor, what: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor of raw logits, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{what} must be a floating-point tensor, got dtype {x.dtype}")
    return x


class AdversarialLoss:
    """Base class of the adversarial losses: maps raw D logits to scalar losses to minimise."""

    #: registry name (canonical)
    name: str = "base"
    #: whether ``real_label`` (one-sided label smoothing) is meaningful for this loss
    supports_label_smoothing: bool = False

    # ------------------------------------------------------------------ public API
    def discriminator_loss(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0
    ) -> torch.Tensor:
        """Scalar loss minimised by D, from logits on real data and on (detached) fakes."""
        _as_tensor(real_logits, "real_logits")
        _as_tensor(fake_logits, "fake_logits")
        real_label = self._check_real_label(real_label)
        return self._discriminator_loss(real_logits, fake_logits, real_label)

    def generator_loss(
        self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Scalar loss minimised by G, from D's logits on generated samples.

        ``real_logits`` is accepted for API uniformity (relativistic losses need it); the
        losses in this module ignore it.
        """
        _as_tensor(fake_logits, "fake_logits")
        return self._generator_loss(fake_logits)

    # ------------------------------------------------------------------ hooks
    def _discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor, real_label: float):
        raise NotImplementedError

    def _generator_loss(self, fake: torch.Tensor):
        raise NotImplementedError

    def _check_real_label(self, real_label: float) -> float:
        real_label = float(real_label)
        if not self.supports_label_smoothing:
            if real_label != 1.0:
                supported = sorted(n for n, c in LOSSES.items() if c.supports_label_smoothing)
                raise ValueError(
                    f"loss {self.name!r} does not support label smoothing (real_label="
                    f"{real_label}); losses that support it: {supported}"
                )
            return real_label
        if not (0.0 < real_label <= 1.0):
            raise ValueError(f"real_label must be in (0, 1], got {real_label}")
        return real_label

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


# ---------------------------------------------------------------------------- registry
LOSSES: dict[str, type[AdversarialLoss]] = {}
ALIASES: dict[str, str] = {}


def register_loss(*aliases: str) -> Callable[[type[AdversarialLoss]], type[AdversarialLoss]]:
    """Class decorator adding an :class:`AdversarialLoss` subclass (and aliases) to ``LOSSES``."""

    def deco(cls: type[AdversarialLoss]) -> type[AdversarialLoss]:
        if cls.name in LOSSES or cls.name in ALIASES:
            raise ValueError(f"loss name {cls.name!r} already registered")
        LOSSES[cls.name] = cls
        for alias in aliases:
            if alias in LOSSES or alias in ALIASES:
                raise ValueError(f"loss alias {alias!r} already registered")
            ALIASES[alias] = cls.name
        return cls

    return deco


def list_losses() -> list[str]:
    """Sorted canonical names of the registered adversarial losses (aliases excluded)."""
    return sorted(LOSSES)


def get_loss(name: str, **kwargs) -> AdversarialLoss:
    """Instantiate a registered loss by name or alias (case-insensitive, ``-`` == ``_``)."""
    key = str(name).strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in LOSSES:
        raise ValueError(
            f"unknown adversarial loss {name!r}; known losses: {list_losses()} "
            f"(aliases: {sorted(ALIASES)})"
        )
    return LOSSES[key](**kwargs)


# ---------------------------------------------------------------------------- Goodfellow GAN
@register_loss("non_saturating", "ns", "bce", "gan")
class VanillaGANLoss(AdversarialLoss):
    """Goodfellow et al. (2014) GAN with the non-saturating generator loss.

    D (logit ``v``, ``D(x) = sigma(v)``) minimises the binary cross-entropy
    ``-E_P[y log D(x) + (1-y) log(1-D(x))] - E_Q[log(1 - D(G(z)))]`` with ``y = real_label``
    (1 by default; e.g. 0.9 for one-sided label smoothing, Salimans et al. 2016).
    G minimises ``-E[log D(G(z))] = E[softplus(-v_fake)]``.
    """

    name = "vanilla"
    supports_label_smoothing = True

    def _discriminator_loss(self, real, fake, real_label):
        # BCE(v, y) = y * sp(-v) + (1 - y) * sp(v), computed stably by torch.
        loss_real = F.binary_cross_entropy_with_logits(real, torch.full_like(real, real_label))
        loss_fake = F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        return loss_real + loss_fake

    def _generator_loss(self, fake):
        return F.softplus(-fake).mean()  # -log sigma(v)


@register_loss("saturating")
class MinimaxGANLoss(VanillaGANLoss):
    """Original minimax GAN: same D as ``vanilla``; G minimises
    ``E[log(1 - D(G(z)))] = -E[softplus(v_fake)]`` (saturates when D rejects fakes)."""

    name = "minimax"

    def _generator_loss(self, fake):
        return -F.softplus(fake).mean()  # log(1 - sigma(v)) = -sp(v)


# ---------------------------------------------------------------------------- f-GAN
class FDivergenceLoss(AdversarialLoss):
    """f-GAN (Nowozin et al. 2016) base class for ``D_f(P||Q) = ∫ q(x) f(p(x)/q(x)) dx``.

    ``P`` is the real distribution, ``Q`` the generator's. With the critic ``T = g_f(v)``
    (``v`` = raw logit, ``g_f`` = :meth:`activation`) the variational lower bound is
    ``F(T) = E_P[T(x)] - E_Q[f*(T(x))] <= D_f(P||Q)``, tight at
    ``T*(x) = f'(p(x)/q(x))`` (:meth:`optimal_critic_from_density_ratio`).

    * ``discriminator_loss = -F(T) = -(E_P[g_f(v_real)] - E_Q[f*(g_f(v_fake))])``.
    * ``generator_loss``: by default the saddle-point form ``-E_Q[f*(g_f(v_fake))]`` (G
      minimises ``F``; the ``E_P`` term does not depend on G). With ``non_saturating=True``
      it is the paper's alternative heuristic ``-E_Q[g_f(v_fake)]`` (G maximises ``E_Q[T]``).

    Subclasses implement ``f``, ``f_prime``, ``activation`` (g_f), ``inverse_activation``
    (g_f^{-1}), ``conjugate`` (f*) and the fused, numerically stable terms ``_t`` (= g_f(v))
    and ``_conj_t`` (= f*(g_f(v))).
    """

    def __init__(self, non_saturating: bool = False) -> None:
        self.non_saturating = bool(non_saturating)

    # -- the divergence's functions (paper Table 1/2), applied elementwise
    def f(self, u: torch.Tensor) -> torch.Tensor:
        """Generator function f(u) of the divergence (u = p/q > 0)."""
        raise NotImplementedError

    def f_prime(self, u: torch.Tensor) -> torch.Tensor:
        """Derivative f'(u)."""
        raise NotImplementedError

    def activation(self, v: torch.Tensor) -> torch.Tensor:
        """Output activation g_f: raw logit v -> critic value T = g_f(v) in dom f*."""
        raise NotImplementedError

    def inverse_activation(self, t: torch.Tensor) -> torch.Tensor:
        """Inverse output activation g_f^{-1}: critic value T -> logit v."""
        raise NotImplementedError

    def conjugate(self, t: torch.Tensor) -> torch.Tensor:
        """Fenchel conjugate f*(t) = sup_u (u t - f(u))."""
        raise NotImplementedError

    def optimal_critic_from_density_ratio(self, ratio: torch.Tensor) -> torch.Tensor:
        """Optimal critic T*(x) = f'(p(x)/q(x)) given the density ratio p/q (P real, Q fake)."""
        return self.f_prime(ratio)

    # -- fused stable versions on logits (default: compose the generic ones)
    def _t(self, v: torch.Tensor) -> torch.Tensor:
        return self.activation(v)

    def _conj_t(self, v: torch.Tensor) -> torch.Tensor:
        return self.conjugate(self.activation(v))

    def _discriminator_loss(self, real, fake, real_label):
        return -(self._t(real).mean() - self._conj_t(fake).mean())

    def _generator_loss(self, fake):
        if self.non_saturating:
            return -self._t(fake).mean()
        return -self._conj_t(fake).mean()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, non_saturating={self.non_saturating})"


@register_loss("kullback_leibler", "forward_kl")
class KLDivergenceLoss(FDivergenceLoss):
    """f-GAN with KL(P||Q): f(u) = u log u, f'(u) = 1 + log u, g_f(v) = v, f*(t) = exp(t - 1)."""

    name = "kl"

    def f(self, u):
        return torch.xlogy(u, u)

    def f_prime(self, u):
        return 1.0 + torch.log(u)

    def activation(self, v):
        return v

    def inverse_activation(self, t):
        return t

    def conjugate(self, t):
        return torch.exp(t - 1.0)


@register_loss("reverse_kullback_leibler", "rkl")
class ReverseKLDivergenceLoss(FDivergenceLoss):
    """f-GAN with KL(Q||P): f(u) = -log u, f'(u) = -1/u, g_f(v) = -exp(-v),
    f*(t) = -1 - log(-t) (t < 0); fused: f*(g_f(v)) = v - 1."""

    name = "reverse_kl"

    def f(self, u):
        return -torch.log(u)

    def f_prime(self, u):
        return -1.0 / u

    def activation(self, v):
        return -torch.exp(-v)

    def inverse_activation(self, t):
        return -torch.log(-t)

    def conjugate(self, t):
        return -1.0 - torch.log(-t)

    def _conj_t(self, v):
        return v - 1.0


@register_loss("jensen_shannon", "jsd")
class JensenShannonLoss(FDivergenceLoss):
    """f-GAN with the Jensen-Shannon generator of the paper's table:
    f(u) = u log u - (u + 1) log((1 + u)/2), f'(u) = log(2u/(1 + u)),
    g_f(v) = log 2 - log(1 + exp(-v)) = log 2 + logsigmoid(v), f*(t) = -log(2 - exp(t)) (t < log 2).

    With this f, D_f(P||Q) = KL(P||M) + KL(Q||M) = 2 JSD(P||Q), M = (P + Q)/2.
    Fused, stable: f*(g_f(v)) = softplus(v) - log 2; T* = f'(p/q) has logit v* = log(p/q).
    """

    name = "js"

    def f(self, u):
        return torch.xlogy(u, u) - (u + 1.0) * torch.log((1.0 + u) / 2.0)

    def f_prime(self, u):
        return math.log(2.0) + torch.log(u) - torch.log1p(u)

    def activation(self, v):
        return _LOG2 + F.logsigmoid(v)

    def inverse_activation(self, t):
        # t = log 2 + logsigmoid(v)  =>  sigmoid(v) = exp(t)/2  =>  v = logit(exp(t)/2)
        s = torch.exp(t - _LOG2)
        return torch.log(s) - torch.log1p(-s)

    def conjugate(self, t):
        return -torch.log(2.0 - torch.exp(t))

    def _conj_t(self, v):
        # -log(2 - 2 sigmoid(v)) = -log 2 - log sigmoid(-v) = softplus(v) - log 2
        return F.softplus(v) - _LOG2


@register_loss("chi2", "pearson_chi2")
class PearsonChiSquaredLoss(FDivergenceLoss):
    """f-GAN with Pearson chi^2(P||Q): f(u) = (u - 1)^2, f'(u) = 2(u - 1), g_f(v) = v,
    f*(t) = t^2/4 + t."""

    name = "pearson"

    def f(self, u):
        return (u - 1.0) ** 2

    def f_prime(self, u):
        return 2.0 * (u - 1.0)

    def activation(self, v):
        return v

    def inverse_activation(self, t):
        return t

    def conjugate(self, t):
        return 0.25 * t * t + t


@register_loss("squared_hellinger", "hellinger2")
class SquaredHellingerLoss(FDivergenceLoss):
    """f-GAN with the squared Hellinger distance ∫(sqrt p - sqrt q)^2 = 2 (1 - BC(P, Q)):
    f(u) = (sqrt(u) - 1)^2, f'(u) = 1 - 1/sqrt(u), g_f(v) = 1 - exp(-v), f*(t) = t/(1 - t)
    (t < 1). Fused: f*(g_f(v)) = exp(v) - 1; T* has logit v* = log(p/q)/2."""

    name = "hellinger"

    def f(self, u):
        return (torch.sqrt(u) - 1.0) ** 2

    def f_prime(self, u):
        return 1.0 - torch.rsqrt(u)

    def activation(self, v):
        return -torch.expm1(-v)

    def inverse_activation(self, t):
        return -torch.log1p(-t)

    def conjugate(self, t):
        return t / (1.0 - t)

    def _conj_t(self, v):
        return torch.expm1(v)


# ---------------------------------------------------------------------------- IPM / margin / LS
@register_loss("wasserstein", "wgan_gp")
class WassersteinLoss(AdversarialLoss):
    """WGAN (Arjovsky et al. 2017): critic minimises E[D(fake)] - E[D(real)], G minimises
    -E[D(fake)]. Combine with :func:`gradient_penalty` (WGAN-GP) or :func:`clip_weights`."""

    name = "wgan"

    def _discriminator_loss(self, real, fake, real_label):
        return fake.mean() - real.mean()

    def _generator_loss(self, fake):
        return -fake.mean()


@register_loss()
class HingeLoss(AdversarialLoss):
    """Hinge GAN (Lim & Ye 2017; Miyato et al. 2018): D minimises
    E[relu(1 - D(real))] + E[relu(1 + D(fake))], G minimises -E[D(fake)]."""

    name = "hinge"

    def _discriminator_loss(self, real, fake, real_label):
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    def _generator_loss(self, fake):
        return -fake.mean()


@register_loss("least_squares", "ls")
class LeastSquaresLoss(AdversarialLoss):
    """LSGAN (Mao et al. 2017), a-b-c = 0-1-1 coding: D minimises
    0.5 E[(D(real) - b)^2] + 0.5 E[D(fake)^2] with b = real_label; G minimises
    0.5 E[(D(fake) - 1)^2]."""

    name = "lsgan"
    supports_label_smoothing = True

    def _discriminator_loss(self, real, fake, real_label):
        return 0.5 * ((real - real_label) ** 2).mean() + 0.5 * (fake**2).mean()

    def _generator_loss(self, fake):
        return 0.5 * ((fake - 1.0) ** 2).mean()
