#!/usr/bin/env python
"""Train a small CLIP on captioned images: `accelerate launch scripts/train_clip.py --dataset <captioned data> ...`.

Same code as `hfgen train clip ...`; flags are `hfgen.training.TrainingArguments` and
`CLIPArguments` (or one YAML/JSON file holding them). The exported folder is a standard
transformers CLIP folder (CLIPModel + tokenizer + image processor) whose text tower
`--text_encoder <folder>` loads.
"""

from hfgen.training import main

if __name__ == "__main__":
    main("clip")
