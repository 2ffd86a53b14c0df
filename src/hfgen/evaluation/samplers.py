"""Samplers: how samples are drawn from a pipeline for evaluation, one per way of conditioning.

Every sampler is called with a pipeline and returns :class:`Samples`. Pipelines are duck-typed: any
callable that takes ``generator=`` and ``output_type="pt"`` and returns an object with ``.images`` (or
a tuple) works, so the GAN pipelines, diffusers' own pipelines and the families still to come share
one evaluation path.

* :class:`NoiseSampler` -- noise -> image: ``pipeline(batch_size=, generator=, output_type="pt"
  [, class_labels=])`` (``GANPipeline``, ``DDPMPipeline``);
* :class:`ImageToImageSampler` -- image -> image: ``pipeline(image=, generator=, output_type="pt")``
  on given inputs, with optional paired targets (Pix2Pix) and source labels (content checks);
* :class:`PromptSampler` -- prompt -> image: ``pipeline(prompt=, generator=, output_type="pt")``;
* :func:`accepts_argument` / :meth:`Sampler.with_call_kwargs` -- what a number-of-steps sweep needs
  (:meth:`hfgen.evaluation.Evaluator.sweep_steps` draws the same samples again at each
  ``num_inference_steps``).

One ``torch.Generator`` seeded with ``seed`` is created per sampler call and shared by the batches,
so the samples depend on the seed and the batch size, not on anything drawn before.
"""

from __future__ import annotations

import copy
import inspect
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ._common import EvaluationError, images_from_output, pipeline_device, pipeline_num_classes

__all__ = ["ImageToImageSampler", "NoiseSampler", "PromptSampler", "Sampler", "Samples", "accepts_argument"]


@dataclass
class Samples:
    """What a sampler drew.

    Attributes:
        images: generated images ``[N, C, H, W]`` in ``[-1, 1]`` (or points ``[N, D]``).
        labels: the class each sample was generated for (class-conditional generators), or the known
            class of each translated input; ``None`` otherwise.
        targets: the paired target of each sample (``[-1, 1]``, image-to-image), else ``None``.
        prompts: the prompt of each sample (prompt -> image), else ``None``.
        seconds: wall time spent inside the pipeline calls.
        call_kwargs: the extra arguments every pipeline call received (e.g. ``num_inference_steps``).
    """

    images: torch.Tensor
    labels: torch.Tensor | None = None
    targets: torch.Tensor | None = None
    prompts: list[str] | None = None
    seconds: float = 0.0
    call_kwargs: dict = field(default_factory=dict)


def accepts_argument(pipeline: Any, name: str) -> bool:
    """Whether ``pipeline(...)`` takes the keyword ``name`` (or any keyword, through ``**kwargs``)."""
    try:
        parameters = inspect.signature(pipeline.__call__ if not inspect.isfunction(pipeline) else pipeline).parameters
    except (TypeError, ValueError):  # builtins without a signature: assume yes, the call will tell
        return True
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _as_images(x: Any, what: str) -> torch.Tensor:
    t = torch.as_tensor(x).detach().float().cpu()
    if t.dim() != 4:
        raise EvaluationError(f"{what} must be images [N, C, H, W] in [-1, 1], got shape {tuple(t.shape)}")
    return t


class Sampler:
    """Base class: seed, batch size and the extra keyword arguments given to every pipeline call."""

    def __init__(self, num_samples: int, batch_size: int, seed: int, call_kwargs: dict | None = None) -> None:
        if int(num_samples) < 1:
            raise EvaluationError(f"--num_samples must be >= 1, got {num_samples}")
        if int(batch_size) < 1:
            raise EvaluationError(f"--batch_size must be >= 1, got {batch_size}")
        self.num_samples = int(num_samples)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.call_kwargs = dict(call_kwargs or {})

    def with_call_kwargs(self, **kwargs: Any) -> Sampler:
        """A copy whose pipeline calls also get ``kwargs`` (e.g. ``num_inference_steps=25``)."""
        other = copy.copy(self)
        other.call_kwargs = {**self.call_kwargs, **kwargs}
        return other

    def _check_call_kwargs(self, pipeline: Any) -> None:
        for name in self.call_kwargs:
            if not accepts_argument(pipeline, name):
                flag = " (--steps is for diffusion pipelines)" if name == "num_inference_steps" else ""
                raise EvaluationError(f"{type(pipeline).__name__} does not take {name}={self.call_kwargs[name]!r}{flag}")

    def _batches(self, pipeline: Any, make_kwargs) -> tuple[torch.Tensor, float]:
        """Calls the pipeline batch by batch with one seeded generator; returns (images, seconds)."""
        self._check_call_kwargs(pipeline)
        generator = torch.Generator(device=pipeline_device(pipeline)).manual_seed(self.seed)
        chunks, seconds = [], 0.0
        for start in range(0, self.num_samples, self.batch_size):
            stop = min(start + self.batch_size, self.num_samples)
            kwargs = {**make_kwargs(start, stop), "generator": generator, "output_type": "pt", **self.call_kwargs}
            began = time.perf_counter()
            out = pipeline(**kwargs)
            seconds += time.perf_counter() - began
            x = images_from_output(out)
            if len(x) != stop - start:
                raise EvaluationError(f"{type(pipeline).__name__} returned {len(x)} samples for a batch of {stop - start}")
            chunks.append(x)
        return torch.cat(chunks), seconds

    def __call__(self, pipeline: Any) -> Samples:  # pragma: no cover - abstract
        raise NotImplementedError


class NoiseSampler(Sampler):
    """noise -> image: ``num_samples`` samples, ``batch_size`` per call.

    For a class-conditional generator (``num_classes`` in its config) the labels default to the
    balanced ``arange(num_samples) % num_classes``; ``class_labels`` (one int, or ``num_samples``
    labels) chooses them. An unconditional generator given ``class_labels`` is an error.
    """

    def __init__(self, num_samples: int, batch_size: int = 500, seed: int = 0, class_labels: Any = None,
                 call_kwargs: dict | None = None) -> None:
        super().__init__(num_samples, batch_size, seed, call_kwargs)
        self.class_labels = class_labels

    def labels_for(self, pipeline: Any) -> torch.Tensor | None:
        """The labels the samples are generated for (``None`` for an unconditional generator)."""
        n, class_labels = self.num_samples, self.class_labels
        num_classes = pipeline_num_classes(pipeline)
        if not num_classes:
            if class_labels is not None:
                raise EvaluationError("this generator is unconditional: do not pass class_labels")
            return None
        if class_labels is None:
            return torch.arange(n) % num_classes
        if isinstance(class_labels, (int, np.integer)):
            return torch.full((n,), int(class_labels), dtype=torch.long)
        labels = torch.as_tensor(class_labels, dtype=torch.long).flatten()
        if len(labels) != n:
            raise EvaluationError(f"got {len(labels)} class_labels for num_samples={n}")
        return labels

    @torch.no_grad()
    def __call__(self, pipeline: Any) -> Samples:
        labels = self.labels_for(pipeline)

        def make_kwargs(start: int, stop: int) -> dict:
            kwargs: dict[str, Any] = {"batch_size": stop - start}
            if labels is not None:
                kwargs["class_labels"] = labels[start:stop]
            return kwargs

        images, seconds = self._batches(pipeline, make_kwargs)
        return Samples(images, labels=labels, seconds=seconds, call_kwargs=dict(self.call_kwargs))


class ImageToImageSampler(Sampler):
    """image -> image: translates every input once (``pipeline(image=...)``).

    Args:
        inputs: input images ``[N, C, H, W]`` in ``[-1, 1]``; the pipeline receives them in ``[0, 1]``
            (the range diffusers' image processors expect for tensors).
        targets: the paired target of each input (``[-1, 1]``) for L1/PSNR/SSIM, or ``None`` (unpaired).
        labels: the known class of each input (content checks with a classifier), or ``None``.
        call_kwargs: e.g. ``{"direction": "b_to_a"}`` for a two-way (CycleGAN) pipeline.
    """

    def __init__(self, inputs: Any, targets: Any = None, labels: Any = None, batch_size: int = 64, seed: int = 0,
                 call_kwargs: dict | None = None) -> None:
        self.inputs = _as_images(inputs, "inputs")
        super().__init__(len(self.inputs), batch_size, seed, call_kwargs)
        self.targets = None if targets is None else _as_images(targets, "targets")
        if self.targets is not None and len(self.targets) != len(self.inputs):
            raise EvaluationError(f"got {len(self.targets)} targets for {len(self.inputs)} inputs: one target per input")
        self.labels = None if labels is None else torch.as_tensor(labels, dtype=torch.long).flatten()
        if self.labels is not None and len(self.labels) != len(self.inputs):
            raise EvaluationError(f"got {len(self.labels)} labels for {len(self.inputs)} inputs: one label per input")

    @torch.no_grad()
    def __call__(self, pipeline: Any) -> Samples:
        images, seconds = self._batches(pipeline, lambda start, stop: {"image": (self.inputs[start:stop] + 1.0) / 2.0})
        return Samples(images, labels=self.labels, targets=self.targets, seconds=seconds, call_kwargs=dict(self.call_kwargs))


class PromptSampler(Sampler):
    """prompt -> image: ``num_samples`` samples for ``prompts`` taken in turn (sample i gets prompt i % P).

    ``labels`` (one per prompt, e.g. the class a prompt names) are repeated the same way, for
    condition accuracy. ``call_kwargs`` carries e.g. ``guidance_scale`` and ``num_inference_steps``.
    """

    def __init__(self, prompts: list[str], num_samples: int | None = None, batch_size: int = 64, seed: int = 0,
                 labels: Any = None, call_kwargs: dict | None = None) -> None:
        if isinstance(prompts, str):
            prompts = [prompts]
        if not prompts or not all(isinstance(p, str) for p in prompts):
            raise EvaluationError("prompts must be a non-empty list of strings")
        super().__init__(len(prompts) if num_samples is None else num_samples, batch_size, seed, call_kwargs)
        self.prompts = [prompts[i % len(prompts)] for i in range(self.num_samples)]
        self.labels = None
        if labels is not None:
            per_prompt = torch.as_tensor(labels, dtype=torch.long).flatten()
            if len(per_prompt) != len(prompts):
                raise EvaluationError(f"got {len(per_prompt)} labels for {len(prompts)} prompts: one label per prompt")
            self.labels = per_prompt[torch.arange(self.num_samples) % len(prompts)]

    @torch.no_grad()
    def __call__(self, pipeline: Any) -> Samples:
        images, seconds = self._batches(pipeline, lambda start, stop: {"prompt": self.prompts[start:stop]})
        return Samples(images, labels=self.labels, prompts=list(self.prompts), seconds=seconds,
                       call_kwargs=dict(self.call_kwargs))
