"""The diffusers pipelines, one file per task, plus the one save/load file they share (all shipped in every exported repo)."""

import os

from hfgen import models as _models  # noqa: F401  (registers hfgen's configs with AutoConfig)

from .hfgen_pipeline_utils import read_model_index, refuse_pickle_weights, resolve_folder
from .pipeline_gan import GANPipeline
from .pipeline_pix2pix import Pix2PixPipeline
from .pipeline_text_gan import TextToImageGANPipeline
from .pipeline_cyclegan import CycleGANPipeline
from .pipeline_ddpm import ClassConditionalDDPMPipeline
from .pipeline_text_ddpm import TextToImageDDPMPipeline

# hfgen's pipeline classes by the `_class_name` an export records; each family adds its own.
PIPELINES = {
    "GANPipeline": GANPipeline,
    "TextToImageGANPipeline": TextToImageGANPipeline,
    "Pix2PixPipeline": Pix2PixPipeline,
    "CycleGANPipeline": CycleGANPipeline,
    "ClassConditionalDDPMPipeline": ClassConditionalDDPMPipeline,
    "TextToImageDDPMPipeline": TextToImageDDPMPipeline,
}


def load_pipeline(path, trust_remote_code: bool = False, **kwargs):
    """Loads any hfgen folder or Hub repository: the pipeline class is chosen by `model_index.json`'s `_class_name`.

    hfgen's own pipelines load with hfgen's installed classes (the folder's code is not run); a stock
    diffusers folder (e.g. a `DDPMPipeline`) loads with its diffusers class. Any other pipeline code
    runs only with `trust_remote_code=True`. Weights are read from safetensors only. `kwargs` go to
    the class's `from_pretrained` (`torch_dtype`, `revision`, ...).
    """
    hub_kwargs = {k: kwargs.pop(k) for k in ("revision", "token", "cache_dir", "local_files_only") if k in kwargs}
    folder = resolve_folder(os.fspath(path), **hub_kwargs)
    index = read_model_index(folder)
    for component, entry in index.items():  # the same safetensors-only policy for stock folders
        if isinstance(entry, list) and entry[0] and os.path.isdir(os.path.join(folder, component)):
            refuse_pickle_weights(os.path.join(folder, component), component)
    class_name = index.get("_class_name")
    custom = isinstance(class_name, list)
    name = class_name[-1] if custom and class_name else class_name
    pipe = None
    if name in PIPELINES:
        pipe = PIPELINES[name].from_pretrained(folder, trust_remote_code=trust_remote_code, **kwargs)
    import diffusers

    if pipe is None and not custom and isinstance(name, str) and hasattr(diffusers, name):
        pipe = getattr(diffusers, name).from_pretrained(folder, use_safetensors=True, **kwargs)
    if pipe is None and custom and trust_remote_code:
        pipe = diffusers.DiffusionPipeline.from_pretrained(folder, trust_remote_code=True, use_safetensors=True, **kwargs)
    if pipe is not None:
        from .pipeline_ddpm import check_folder_schedule

        check_folder_schedule(folder, getattr(pipe, "scheduler", None))  # a diffusion folder edited after training
        return pipe
    raise ValueError(
        f"{os.path.join(folder, 'model_index.json')} names the pipeline class {class_name!r}, which is neither one of "
        f"hfgen's ({', '.join(sorted(PIPELINES))}) nor a diffusers pipeline."
        + (" Its code ships in the folder: read it, then pass trust_remote_code=True (--trust_remote_code)." if custom else "")
    )


__all__ = [
    "ClassConditionalDDPMPipeline",
    "CycleGANPipeline",
    "GANPipeline",
    "PIPELINES",
    "Pix2PixPipeline",
    "TextToImageDDPMPipeline",
    "TextToImageGANPipeline",
    "load_pipeline",
]
