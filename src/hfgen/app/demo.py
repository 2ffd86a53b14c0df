"""The web demo of an exported model: controls per family, a seeded `predict`, and the Gradio page.

This file is SELF-CONTAINED (imports: torch, numpy, PIL, diffusers, huggingface_hub; gradio only inside
`build_demo`; matplotlib only for 2-D point models): `hfgen space` copies it verbatim into a Space as
`hfgen_demo.py`, where hfgen is not installed. `hfgen app` uses it with hfgen's loader.

Each family is one entry of `FAMILIES`, keyed by the pipeline class name recorded in `model_index.json`
(`_class_name`): which controls the page shows, and how one click calls the pipeline. A new family adds
one entry. `DemoModel.predict` is what the page's button runs; it returns exactly what the pipeline returns
for the same inputs and seed (the generator is `torch.Generator(device).manual_seed(seed)`).
"""

from __future__ import annotations

import inspect
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from PIL import Image

# Limits stated in the page (and enforced by `predict`): a public Space runs on a small CPU.
MAX_IMAGES = 16  # images (or dropout samples) per click
MAX_POINTS = 5000  # points per click for 2-D models
MAX_STEPS = 1000  # sampler steps per image (also at most the model's num_train_timesteps)
MAX_UPLOAD_MB = 10  # file size of an uploaded image
MAX_UPLOAD_PIXELS = 4096 * 4096  # width * height of an uploaded image (larger ones are refused, smaller resized)
MAX_SEED = 2**32 - 1
RANDOM_CLASS = "random"
# Samplers offered for diffusion models: the same three as `hfgen sample --scheduler` / `hfgen evaluate`.
SAMPLERS = ("ddpm", "ddim", "dpm++")
FOLDER_SAMPLER = "the model's own"


class DemoError(ValueError):
    """A problem the page shows to the user (bad input, or a model that could not be loaded)."""


Result = List[Tuple[Image.Image, str]]


@dataclass(frozen=True)
class Family:
    """One family's page: its title, the controls it shows (names of `CONTROLS`, in order) and `run(model, inputs,
    generator) -> [(image, caption)]` that calls the pipeline."""

    title: str
    controls: Tuple[str, ...]
    run: Callable[["DemoModel", Dict[str, Any], torch.Generator], Result]
    note: str = ""


# --------------------------------------------------------------------------------------------- the families


def _sampled(model: "DemoModel", inputs: Dict[str, Any]):
    """The pipeline with the chosen sampler (built from the model's own scheduler config), progress bar off."""
    return model.pipeline_with_sampler(inputs.get("scheduler") or FOLDER_SAMPLER)


def _class_kwargs(model: "DemoModel", inputs: Dict[str, Any]) -> Dict[str, Any]:
    choice = inputs.get("class_label")
    if choice in (None, "", RANDOM_CLASS) or not model.class_choices:
        return {}
    if choice not in model.class_choices:
        raise DemoError(f"Unknown class {choice!r}: pick one of {', '.join(model.class_choices)} (or {RANDOM_CLASS!r}).")
    return {"class_labels": model.class_choices[choice]}


def _captions(model: "DemoModel", n: int, kwargs: Dict[str, Any], prefix: str = "") -> List[str]:
    label = kwargs.get("class_labels")
    name = {v: k for k, v in model.class_choices.items()}.get(label, "") if label is not None else ""
    return [f"{prefix}{name} #{i + 1}".strip() for i in range(n)]


def _run_gan(model: "DemoModel", inputs: Dict[str, Any], generator: torch.Generator) -> Result:
    n = inputs["num_images"]
    kwargs = _class_kwargs(model, inputs)
    images = model.pipe(batch_size=n, generator=generator, **kwargs).images
    return list(zip(images, _captions(model, n, kwargs)))


def _run_points(model: "DemoModel", inputs: Dict[str, Any], generator: torch.Generator) -> Result:
    n = inputs["num_points"]
    kwargs = _class_kwargs(model, inputs)
    points = model.pipe(batch_size=n, generator=generator, output_type="np", **kwargs).images
    return [(scatter_plot(points), f"{n} samples")]


def _run_text_gan(model: "DemoModel", inputs: Dict[str, Any], generator: torch.Generator) -> Result:
    n = inputs["num_images"]
    images = model.pipe(prompt=inputs["prompt"], num_images_per_prompt=n, generator=generator).images
    return [(image, f"{inputs['prompt']} #{i + 1}") for i, image in enumerate(images)]


def _run_ddpm(model: "DemoModel", inputs: Dict[str, Any], generator: torch.Generator) -> Result:
    n = inputs["num_images"]
    kwargs = _class_kwargs(model, inputs)
    pipe = _sampled(model, inputs)
    images = pipe(batch_size=n, num_inference_steps=inputs["num_inference_steps"], generator=generator, **kwargs).images
    return list(zip(images, _captions(model, n, kwargs)))


def _run_text_ddpm(model: "DemoModel", inputs: Dict[str, Any], generator: torch.Generator) -> Result:
    n = inputs["num_images"]
    pipe = _sampled(model, inputs)
    images = pipe(prompt=inputs["prompt"], negative_prompt=inputs.get("negative_prompt") or None,
                  num_inference_steps=inputs["num_inference_steps"], guidance_scale=inputs["guidance_scale"],
                  num_images_per_prompt=n, generator=generator).images
    return [(image, f"{inputs['prompt']} #{i + 1}") for i, image in enumerate(images)]


def _run_pix2pix(model: "DemoModel", inputs: Dict[str, Any], generator: torch.Generator) -> Result:
    # Without test-time dropout G is deterministic: one translation. With it (the paper's noise), each of the
    # num_images copies of the input draws its own dropout masks from the seeded generator.
    n = inputs["num_images"] if inputs.get("dropout") else 1
    images = model.pipe(image=[inputs["image"]] * n, generator=generator, dropout=bool(inputs.get("dropout"))).images
    return [(image, "translation" + (f" #{i + 1}" if n > 1 else "")) for i, image in enumerate(images)]


def _run_cyclegan(model: "DemoModel", inputs: Dict[str, Any], generator: torch.Generator) -> Result:
    direction = inputs["direction"]
    images = model.pipe(image=inputs["image"], direction=direction, generator=generator).images
    return [(images[0], "A -> B (G)" if direction == "a_to_b" else "B -> A (F)")]


FAMILIES: Dict[str, Family] = {
    "GANPipeline": Family("GAN", ("class_label", "num_images", "seed"), _run_gan),
    # a GANPipeline whose G outputs 2-D points (the mixture benchmarks): shown as a scatter plot
    "GANPipeline/points": Family("GAN on 2-D points", ("class_label", "num_points", "seed"), _run_points),
    "TextToImageGANPipeline": Family("Text-to-image GAN", ("prompt", "num_images", "seed"), _run_text_gan),
    "Pix2PixPipeline": Family(
        "Pix2Pix image-to-image translation", ("image", "dropout", "num_images", "seed"), _run_pix2pix,
        note="The translation is deterministic; with test-time dropout on, the seed draws the dropout masks.",
    ),
    "CycleGANPipeline": Family(
        "CycleGAN unpaired translation", ("image", "direction"), _run_cyclegan,
        note="The translation is deterministic (no noise is drawn): the same upload always gives the same image.",
    ),
    "DDPMPipeline": Family("DDPM (diffusers DDPMPipeline)", ("num_images", "num_inference_steps", "scheduler", "seed"), _run_ddpm),
    "ClassConditionalDDPMPipeline": Family(
        "Class-conditional DDPM", ("class_label", "num_images", "num_inference_steps", "scheduler", "seed"), _run_ddpm
    ),
    "TextToImageDDPMPipeline": Family(
        "Text-to-image DDPM",
        ("prompt", "negative_prompt", "guidance_scale", "num_inference_steps", "scheduler", "num_images", "seed"),
        _run_text_ddpm,
    ),
}


def scatter_plot(points: np.ndarray, size: int = 480) -> Image.Image:
    """A deterministic scatter plot of [N, 2] points as a PIL image (the gallery's picture of a 2-D model)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(size / 96, size / 96), dpi=96)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.6, color="tab:blue")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(f"{len(points)} generated points")
    fig.tight_layout()
    canvas.draw()
    return Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())


def make_sampler(name: str, scheduler, stock_ddpm_pipeline: bool):
    """The scheduler `name` (one of SAMPLERS) built from a trained scheduler's config, as `hfgen sample --scheduler`
    builds it (hfgen.training.ddpm.make_scheduler, which a Space without hfgen cannot import; tests/test_app.py
    checks the two agree): DDIM and DPM-Solver++ with "trailing" spacing; DDIM without x_0 clipping for diffusers'
    DDPMPipeline, which does not pass use_clipped_model_output=True to DDIM's step."""
    from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler

    config = scheduler.config
    if name == "ddpm":
        return DDPMScheduler.from_config(config)
    if name == "ddim":
        return DDIMScheduler.from_config(config, timestep_spacing="trailing", **({"clip_sample": False} if stock_ddpm_pipeline else {}))
    if name == "dpm++":
        return DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++", solver_order=2, timestep_spacing="trailing")
    raise DemoError(f"Unknown sampler {name!r}: choose {FOLDER_SAMPLER!r} or one of {', '.join(SAMPLERS)}.")


# ------------------------------------------------------------------------------------------------- the model


def evaluation_section(card_text: Optional[str]) -> str:
    """The `## Evaluation` section of a model card (hfgen's cards put the metrics table there), or ""."""
    if not card_text:
        return ""
    text = re.sub(r"\A---\n.*?\n---\n", "", card_text, flags=re.S)  # YAML front matter
    match = re.search(r"^## Evaluation[^\n]*\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    return ("### Evaluation (from the model card)\n" + match.group(1).strip()) if match else ""


def _read_card(source: str) -> Optional[str]:
    """README.md of a local folder, or of a Hub repo (one small download); None when there is none."""
    if os.path.isdir(source):
        path = os.path.join(source, "README.md")
        return open(path, encoding="utf-8").read() if os.path.isfile(path) else None
    try:
        from huggingface_hub import hf_hub_download

        return open(hf_hub_download(source, "README.md"), encoding="utf-8").read()
    except Exception:  # no card, or offline: the page simply has no evaluation table
        return None


def default_device() -> str:
    """A GPU when there is one, else the CPU."""
    return "cuda" if torch.cuda.is_available() else "cpu"


class DemoModel:
    """A loaded model plus what its page needs (family, class names, card evaluation), or the reason it is not.

    `load_error` is set instead of raising when the model cannot be loaded: the app still starts and shows it.
    """

    def __init__(self, source: str, loader: Callable[[str], Any], device: Optional[str] = None, title: Optional[str] = None):
        self.source = os.fspath(source)
        self.device = device or default_device()
        self.title = title or os.path.basename(os.path.normpath(self.source)) or self.source
        self.pipe = None
        self.load_error: Optional[str] = None
        self.family_key: Optional[str] = None
        self.class_choices: Dict[str, int] = {}
        self._samplers: Dict[str, Any] = {}
        try:
            pipe = loader(self.source)
            key = type(pipe).__name__
            if key not in FAMILIES:
                raise DemoError(f"its pipeline class {key} has no demo page; known: {', '.join(k for k in FAMILIES if '/' not in k)}.")
            generator_model = getattr(pipe, "gan_generator", None)
            if key == "GANPipeline" and getattr(generator_model.config, "image_size", None) is None:
                key = "GANPipeline/points"
            pipe = pipe.to(self.device)
            if hasattr(pipe, "set_progress_bar_config"):
                pipe.set_progress_bar_config(disable=True)
            self.pipe, self.family_key = pipe, key
            self.class_choices = self._read_classes(pipe)
        except Exception as error:  # anything: a missing folder, a corrupt file, a bad model_index.json ...
            self.load_error = (
                f"Could not load the model `{self.source}`: {error}\n\nFix: pass a folder exported by `hfgen train` / "
                "`hfgen.hub.export_folder` (with model_index.json and safetensors weights) or a Hub repository id, "
                "e.g. `hfgen app out/my-model`."
            )
        self.evaluation = evaluation_section(_read_card(self.source)) if self.pipe is not None else ""

    @property
    def family(self) -> Optional[Family]:
        return FAMILIES.get(self.family_key) if self.family_key else None

    @staticmethod
    def _read_classes(pipe) -> Dict[str, int]:
        """Class picker entries: name -> id (names from a GAN's id2label; ids otherwise); empty when unconditional."""
        if hasattr(pipe, "gan_generator"):
            config = pipe.gan_generator.config
            count = int(getattr(config, "num_classes", 0) or 0)
            names = {int(i): str(n) for i, n in (getattr(config, "id2label", None) or {}).items()}
        elif hasattr(pipe, "unet") and getattr(pipe.unet.config, "num_class_embeds", None) and type(pipe).__name__ != "DDPMPipeline":
            count, names = int(pipe.unet.config.num_class_embeds), {}
        else:
            return {}
        if all(names.get(i, f"LABEL_{i}") == f"LABEL_{i}" for i in range(count)):
            names = {}
        return {names.get(i, str(i)): i for i in range(count)}

    def pipeline_with_sampler(self, name: str):
        """The pipeline over the same weights with sampler `name` (FOLDER_SAMPLER: unchanged); cached per name."""
        if name == FOLDER_SAMPLER:
            return self.pipe
        if name not in self._samplers:
            stock = type(self.pipe).__name__ == "DDPMPipeline"
            components = dict(self.pipe.components)
            components["scheduler"] = make_sampler(name, self.pipe.scheduler, stock)
            pipe = type(self.pipe)(**components)
            pipe.set_progress_bar_config(disable=True)
            self._samplers[name] = pipe
        return self._samplers[name]

    # -- input checks: each names the problem and the fix, and is shown in the page --------------------------

    def check_inputs(self, raw: Dict[str, Any]) -> Dict[str, Any]:
        """Validated, converted inputs for the family's controls (DemoError otherwise)."""
        if self.load_error:
            raise DemoError(self.load_error)
        out: Dict[str, Any] = {}
        controls = self.family.controls
        for name in controls:
            value = raw.get(name, CONTROLS[name].default(self))
            out[name] = CONTROLS[name].check(self, value)
        return out

    def predict_with_notes(self, **raw: Any) -> Tuple[Result, List[str]]:
        """`predict`, plus the warnings the pipeline logged or raised meanwhile (an upload resized to the model's
        size, prompt words outside the vocabulary, ...): the page shows them beside the images."""
        import logging
        import warnings

        notes: List[str] = []

        class _Collect(logging.Handler):
            def emit(self, record):
                notes.append(record.getMessage())

        handler, root = _Collect(level=logging.WARNING), logging.getLogger()
        root.addHandler(handler)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = self.predict(**raw)
        finally:
            root.removeHandler(handler)
        notes += [str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)]
        return result, list(dict.fromkeys(notes))

    def predict(self, **raw: Any) -> Result:
        """What the page's button does: the family's pipeline call, seeded (`torch.Generator(device).manual_seed(seed)`)."""
        inputs = self.check_inputs(raw)
        generator = torch.Generator(device=self.device).manual_seed(inputs.get("seed", 0))
        return self.family.run(self, inputs, generator)


# ------------------------------------------------------------------------------------------------- controls


def _int(value, name: str, low: int, high: int, what: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DemoError(f"{name} must be a whole number, got {value!r}.") from None
    if number != int(number):
        raise DemoError(f"{name} must be a whole number, got {value!r}.")
    if not low <= number <= high:
        raise DemoError(f"{name} must lie in [{low}, {high}] ({what}), got {int(number)}.")
    return int(number)


def _check_prompt(model, value, name="Prompt", required=True) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise DemoError(f"{name} is empty: type what to draw (e.g. 'a red circle at the top left').")
    if len(text) > 1000:
        raise DemoError(f"{name} is {len(text)} characters long: keep it under 1000 (the text encoder reads only its first tokens).")
    return text


def load_upload(value) -> Image.Image:
    """An uploaded file (path, PIL image or array) as a PIL image; refuses non-images and files above the limits."""
    if value is None or (isinstance(value, str) and not value):
        raise DemoError("No image uploaded: upload an image (PNG, JPEG, WebP, ...) to translate.")
    if isinstance(value, Image.Image):
        image = value
    elif isinstance(value, np.ndarray):
        image = Image.fromarray(value)
    else:
        path = getattr(value, "name", None) or getattr(value, "path", None) or os.fspath(value)
        if not os.path.isfile(path):
            raise DemoError(f"The uploaded file {os.path.basename(path)!r} is not on the server (any more): upload it again.")
        size = os.path.getsize(path)
        if size > MAX_UPLOAD_MB * 1024 * 1024:
            raise DemoError(f"The upload is {size / 2**20:.1f} MB: the limit is {MAX_UPLOAD_MB} MB. Upload a smaller image.")
        try:
            image = Image.open(path)
            if image.width * image.height > MAX_UPLOAD_PIXELS:
                raise DemoError(
                    f"The image is {image.width}x{image.height} pixels: the limit is {MAX_UPLOAD_PIXELS} pixels "
                    f"(4096x4096). Downscale it first (the model works at its own small size anyway)."
                )
            image.load()
        except DemoError:
            raise
        except Exception:  # PIL.UnidentifiedImageError, truncated files, decompression bombs ...
            raise DemoError(
                f"{os.path.basename(path)} is not an image PIL can read: upload a PNG, JPEG, WebP, BMP or GIF file."
            ) from None
    if image.width * image.height > MAX_UPLOAD_PIXELS:
        raise DemoError(f"The image is {image.width}x{image.height} pixels: the limit is {MAX_UPLOAD_PIXELS} pixels (4096x4096).")
    return image


@dataclass(frozen=True)
class Control:
    """A control's check (raw page value -> pipeline value, or DemoError) and default (for callers that omit it)."""

    check: Callable[[DemoModel, Any], Any]
    default: Callable[[DemoModel], Any]


def _max_steps(model: DemoModel) -> int:
    return min(MAX_STEPS, int(model.pipe.scheduler.config.num_train_timesteps))


def _call_default(model: DemoModel, name: str, fallback):
    """The default of `name` in the pipeline's `__call__` signature (what a Python caller gets when omitting it)."""
    parameter = inspect.signature(type(model.pipe).__call__).parameters.get(name)
    return fallback if parameter is None or parameter.default is inspect.Parameter.empty else parameter.default


def _check_class(model: DemoModel, value) -> str:
    value = RANDOM_CLASS if value in (None, "") else str(value)
    if value != RANDOM_CLASS and value not in model.class_choices:
        raise DemoError(f"Unknown class {value!r}: pick one of {', '.join(model.class_choices)} (or {RANDOM_CLASS!r}).")
    return value


def _check_guidance(model: DemoModel, value) -> float:
    try:
        scale = float(value)
    except (TypeError, ValueError):
        raise DemoError(f"Guidance scale must be a number, got {value!r}.") from None
    if not 0 <= scale <= 30:
        raise DemoError(f"Guidance scale must lie in [0, 30] (1 = no guidance; 2-7 are usual), got {scale}.")
    return scale


def _check_sampler(model: DemoModel, value) -> str:
    value = value or FOLDER_SAMPLER
    if value != FOLDER_SAMPLER and value not in SAMPLERS:
        raise DemoError(f"Unknown sampler {value!r}: choose {FOLDER_SAMPLER!r} or one of {', '.join(SAMPLERS)}.")
    return value


def _check_direction(model: DemoModel, value) -> str:
    if value not in ("a_to_b", "b_to_a"):
        raise DemoError(f"Direction must be 'a_to_b' (G: A -> B) or 'b_to_a' (F: B -> A), got {value!r}.")
    return value


CONTROLS: Dict[str, Control] = {
    "seed": Control(lambda m, v: _int(v, "Seed", 0, MAX_SEED, "any 32-bit seed"), lambda m: 0),
    "num_images": Control(lambda m, v: _int(v, "Number of images", 1, MAX_IMAGES, f"at most {MAX_IMAGES} per click"), lambda m: 4),
    "num_points": Control(lambda m, v: _int(v, "Number of points", 1, MAX_POINTS, f"at most {MAX_POINTS} per click"), lambda m: 1000),
    "class_label": Control(_check_class, lambda m: RANDOM_CLASS),
    "prompt": Control(_check_prompt, lambda m: ""),
    "negative_prompt": Control(lambda m, v: _check_prompt(m, v, "Negative prompt", required=False), lambda m: ""),
    "guidance_scale": Control(_check_guidance, lambda m: float(_call_default(m, "guidance_scale", 3.0))),
    "num_inference_steps": Control(
        lambda m, v: _int(v, "Sampler steps", 1, _max_steps(m), "the sampler's steps, at most the model's training timesteps"),
        lambda m: min(50, _max_steps(m), int(_call_default(m, "num_inference_steps", 50))),
    ),
    "scheduler": Control(_check_sampler, lambda m: FOLDER_SAMPLER),
    "image": Control(lambda m, v: load_upload(v), lambda m: None),
    "direction": Control(_check_direction, lambda m: "a_to_b"),
    "dropout": Control(lambda m, v: bool(v), lambda m: False),
}


# --------------------------------------------------------------------------------------------- the Gradio page


def _gradio_control(gr, name: str, model: DemoModel):
    """The Gradio component of control `name` (elem_id = the control name, which the browser tests use)."""
    if name == "seed":
        return gr.Number(value=0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, elem_id=name)
    if name == "num_images":
        return gr.Slider(1, MAX_IMAGES, value=4, step=1, label=f"Number of images (at most {MAX_IMAGES})", elem_id=name)
    if name == "num_points":
        return gr.Slider(100, MAX_POINTS, value=1000, step=100, label=f"Number of points (at most {MAX_POINTS})", elem_id=name)
    if name == "class_label":
        choices = [RANDOM_CLASS] + list(model.class_choices)
        return gr.Dropdown(choices, value=RANDOM_CLASS, label="Class", elem_id=name,
                           visible=bool(model.class_choices), info="'random' draws a class per image")
    if name == "prompt":
        return gr.Textbox(label="Prompt", placeholder="a red circle at the top left", lines=1, elem_id=name)
    if name == "negative_prompt":
        return gr.Textbox(label="Negative prompt (optional)", placeholder="what to steer away from", lines=1, elem_id=name)
    if name == "guidance_scale":
        return gr.Slider(0, 15, value=CONTROLS[name].default(model), step=0.5, label="Guidance scale (1 = none)", elem_id=name)
    if name == "num_inference_steps":
        high = _max_steps(model)
        return gr.Slider(1, high, value=CONTROLS[name].default(model), step=1, label=f"Sampler steps (at most {high})", elem_id=name)
    if name == "scheduler":
        return gr.Dropdown([FOLDER_SAMPLER, *SAMPLERS], value=FOLDER_SAMPLER, label="Sampler", elem_id=name)
    if name == "image":
        return gr.File(label=f"Input image (PNG/JPEG/WebP..., at most {MAX_UPLOAD_MB} MB and 4096x4096; resized to the model's size)",
                       file_types=["image"], type="filepath", elem_id=name)
    if name == "direction":
        return gr.Radio([("A -> B (G)", "a_to_b"), ("B -> A (F)", "b_to_a")], value="a_to_b", label="Direction", elem_id=name)
    if name == "dropout":
        return gr.Checkbox(value=False, label="Test-time dropout (the paper's noise; then the seed and number of images matter)",
                           elem_id=name)
    raise KeyError(f"no Gradio component for control {name!r}")


def _preview(path):
    """The uploaded image for the page's preview; a warning toast (and no preview) when it is not usable."""
    import gradio as gr

    if not path:
        return None
    try:
        return load_upload(path)
    except DemoError as error:
        gr.Warning(str(error))
        return None


def build_demo(model: DemoModel):
    """The Gradio Blocks page of `model`: controls, a Generate button, the gallery and the card's evaluation.

    A model that could not be loaded still gets a page: it says what is wrong (and Generate repeats it)."""
    import gradio as gr

    family = model.family
    with gr.Blocks(title=f"{model.title} - hfgen demo") as demo:
        heading = f"# {model.title}\n"
        if family is not None:
            heading += f"{family.title} from `{model.source}`, running on {model.device}. Same seed, same images as the pipeline in Python."
            if family.note:
                heading += f" {family.note}"
        gr.Markdown(heading)
        if model.load_error:
            gr.Markdown(f"## The model could not be loaded\n\n{model.load_error}", elem_id="load_error")
        with gr.Row():
            with gr.Column(scale=1):
                components = []
                for name in family.controls if family else ():
                    components.append(_gradio_control(gr, name, model))
                    if name == "image":  # show what was uploaded, and say at once when it is not a usable image
                        shown = gr.Image(label="Uploaded image", interactive=False, height=160, format="png", elem_id="preview")
                        components[-1].change(_preview, components[-1], shown, api_name=False)
                button = gr.Button("Generate", variant="primary", elem_id="generate", interactive=model.load_error is None)
            with gr.Column(scale=2):
                # PNG: the page shows exactly the pipeline's pixels (the default WebP would be lossy).
                gallery = gr.Gallery(label="Results", format="png", columns=4, object_fit="contain", elem_id="gallery")
            with gr.Column(scale=1):
                gr.Markdown(model.evaluation or "_The model card has no evaluation table._", elem_id="evaluation")
        names = family.controls if family else ()

        def run(*values):
            try:
                images, notes = model.predict_with_notes(**dict(zip(names, values)))
            except DemoError as error:
                raise gr.Error(str(error)) from None
            except ValueError as error:  # the pipeline's own checks name the fix too
                raise gr.Error(str(error)) from None
            for note in notes:
                gr.Warning(note)
            return images

        button.click(run, components, gallery, api_name="generate", concurrency_limit=1)
    return demo


def load_with_diffusers(trust_remote_code: bool = False) -> Callable[[str], Any]:
    """A loader for a Space (no hfgen): DiffusionPipeline.from_pretrained, safetensors only; custom pipeline code
    runs only when `trust_remote_code` is passed explicitly (the Space's app.py says so)."""

    def load(source: str):
        from diffusers import DiffusionPipeline

        return DiffusionPipeline.from_pretrained(source, trust_remote_code=trust_remote_code, use_safetensors=True)

    return load


__all__ = ["CONTROLS", "DemoError", "DemoModel", "FAMILIES", "Family", "MAX_IMAGES", "MAX_UPLOAD_MB", "build_demo",
           "evaluation_section", "load_upload", "load_with_diffusers", "make_sampler", "scatter_plot"]
