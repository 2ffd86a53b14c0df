#!/usr/bin/env python
"""Train a GAN/WGAN/f-GAN/hinge/LSGAN model: `accelerate launch scripts/train_gan.py --dataset digits ...`.

Same code as `hfgen train gan ...`; flags are `hfgen.training.TrainingArguments` and
`GANArguments` (or one YAML/JSON file holding them).
"""

from hfgen.training import main

if __name__ == "__main__":
    main("gan")
