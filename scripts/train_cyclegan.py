#!/usr/bin/env python
"""Train a CycleGAN (unpaired translation, both directions): `accelerate launch scripts/train_cyclegan.py ...`.

Same code as `hfgen train cyclegan ...`; flags are `hfgen.training.TrainingArguments` and
`CycleGANArguments` (or one YAML/JSON file holding them). Without `--dataset` it trains on the embedded
unpaired domains `mnist5k-unpaired` (no network). The exported folder is a `CycleGANPipeline` that loads
with `DiffusionPipeline.from_pretrained(folder, trust_remote_code=True)`.
"""

from hfgen.training import main

if __name__ == "__main__":
    main("cyclegan")
