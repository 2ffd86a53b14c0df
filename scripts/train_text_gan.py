#!/usr/bin/env python
"""Train a text-to-image GAN (GAN-INT-CLS): `accelerate launch scripts/train_text_gan.py --dataset shapes ...`.

Same code as `hfgen train text-gan ...`; flags are `hfgen.training.TrainingArguments` and
`TextGANArguments` (or one YAML/JSON file holding them). The exported folder is a
`TextToImageGANPipeline` that loads with `DiffusionPipeline.from_pretrained(folder, trust_remote_code=True)`.
"""

from hfgen.training import main

if __name__ == "__main__":
    main("text-gan")
