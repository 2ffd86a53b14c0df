#!/usr/bin/env python
"""Train a denoising diffusion model (DDPM): `accelerate launch scripts/train_ddpm.py --dataset mnist5k ...`.

Same code as `hfgen train ddpm ...`; flags are `hfgen.training.TrainingArguments` and
`DDPMArguments` (or one YAML/JSON file holding them). An unconditional model is exported as a stock
diffusers `DDPMPipeline` folder.
"""

from hfgen.training import main

if __name__ == "__main__":
    main("ddpm")
