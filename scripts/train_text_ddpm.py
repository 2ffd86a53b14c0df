#!/usr/bin/env python
"""Train a text-to-image DDPM with classifier-free guidance: `accelerate launch scripts/train_text_ddpm.py --dataset shapes ...`.

Same code as `hfgen train text-ddpm ...`; flags are `hfgen.training.TrainingArguments` and
`TextDDPMArguments` (or one YAML/JSON file holding them). The exported folder is a
`TextToImageDDPMPipeline` that loads with `DiffusionPipeline.from_pretrained(folder, trust_remote_code=True)`.
"""

from hfgen.training import main

if __name__ == "__main__":
    main("text-ddpm")
