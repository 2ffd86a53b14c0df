"""The image pool of CycleGAN (Shrivastava et al. 2017; Zhu et al. 2017, section 4).

A discriminator updated only on the generator's latest fakes can chase them and oscillate; the pool
keeps a history of past fakes and, once full, answers each query with a past fake half of the time
(swapping the new one in), so D sees a mix of the generator's recent outputs.

Unlike the reference code (which draws from Python's global `random`), every draw comes from the
`torch.Generator` the caller passes (the training loop's checkpointed one), and the pool's content
is part of the task's checkpointed state: a resumed run queries exactly what the uninterrupted run
would have.
"""

from __future__ import annotations

from typing import Optional

import torch

__all__ = ["ImagePool"]


class ImagePool:
    """A buffer of up to `pool_size` past fakes (0: off, queries return their input)."""

    def __init__(self, pool_size: int = 50):
        if not isinstance(pool_size, int) or isinstance(pool_size, bool) or pool_size < 0:
            raise ValueError(f"pool_size must be an integer >= 0 (0 turns the pool off), got {pool_size!r}: pass --pool_size 50 or 0.")
        self.pool_size = pool_size
        self.images: Optional[torch.Tensor] = None  # [k, C, H, W], k <= pool_size

    def __len__(self) -> int:
        return 0 if self.images is None else int(self.images.shape[0])

    @torch.no_grad()
    def query(self, images: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Returns a batch as large as `images` (detached): while the pool fills, the images themselves (each stored);
        once full, each row is, with probability 1/2, a stored fake (replaced by the new image), else the new image."""
        images = images.detach()
        if self.pool_size == 0:
            return images
        device = generator.device if generator is not None else torch.device("cpu")
        out = []
        for image in images:
            image = image.unsqueeze(0)
            if len(self) < self.pool_size:
                self.images = image.clone() if self.images is None else torch.cat([self.images.to(image.device), image.clone()])
                out.append(image)
                continue
            if float(torch.rand((), generator=generator, device=device)) > 0.5:
                slot = int(torch.randint(0, self.pool_size, (), generator=generator, device=device))
                self.images = self.images.to(image.device)
                out.append(self.images[slot : slot + 1].clone())
                self.images[slot] = image[0]
            else:
                out.append(image)
        return torch.cat(out)

    def state_dict(self) -> dict:
        """The stored fakes (an empty tensor while the pool is empty) and the pool size."""
        images = self.images if self.images is not None else torch.zeros(0)
        return {"images": images, "pool_size": torch.tensor(self.pool_size)}

    def load_state_dict(self, state: dict) -> None:
        """Restores `state_dict()`'s output; a pool saved with another size is refused."""
        saved = int(state["pool_size"])
        if saved != self.pool_size:
            raise ValueError(f"The checkpoint's image pool holds up to {saved} fakes, this run's --pool_size is {self.pool_size}: "
                             f"resume with --pool_size {saved}.")
        images = state["images"]
        self.images = images.clone() if images.numel() else None
