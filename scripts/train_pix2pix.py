#!/usr/bin/env python
"""Train Pix2Pix (paired image-to-image translation): `accelerate launch scripts/train_pix2pix.py --dataset edges2digits ...`.

Same code as `hfgen train pix2pix ...`; flags are `hfgen.training.TrainingArguments` and `Pix2PixArguments`
(or one YAML/JSON file holding them). The exported folder is a `Pix2PixPipeline` (with `discriminator/` to
resume) that loads with `DiffusionPipeline.from_pretrained(folder, trust_remote_code=True)`.
"""

from hfgen.training import main

if __name__ == "__main__":
    main("pix2pix")
