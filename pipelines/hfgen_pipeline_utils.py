"""Saving and loading of hfgen's diffusers pipelines: the one copy every `pipeline_<task>.py` imports.

Each pipeline file imports this module relatively (`from .hfgen_pipeline_utils import ...`), and an
export copies both to the folder's root. That is what lets

    DiffusionPipeline.from_pretrained(folder_or_repo_id, trust_remote_code=True)

work where hfgen is not installed. From a Hub repository id, diffusers resolves the pipeline class
while downloading (`diffusers.utils.dynamic_modules_utils.get_cached_module_file`, which downloads
the relative imports of `pipeline_<task>.py` from the repository ROOT, recursively, into the same
snapshot), then imports the pipeline from that snapshot with its relative imports copied beside it
(tests/test_export.py proves it through a local Hub server). So this file lives at the root, imports
only torch, diffusers, transformers, huggingface_hub and the standard library, and never hfgen.
diffusers names such modules by file name (`diffusers_modules.local.hfgen_pipeline_utils`): every
hfgen folder ships the same file, so one process can load folders of several families.

Layout written by :func:`save_pipeline_folder`:

- standard components (diffusers/transformers classes: UNet2DModel, schedulers, CLIPTextModel,
  tokenizers) are saved the standard way and listed by library (`["diffusers", "UNet2DModel"]`); a
  diffusers pipeline class over standard components gives a stock diffusers folder (no
  `trust_remote_code` anywhere);
- a custom component (a transformers `PreTrainedModel` defined outside transformers) gets its
  self-contained modeling file in its subfolder (`register_for_auto_class` writes `auto_map`) AND at
  the root, and is listed as `["modeling_<family>", "<Class>"]`;
- weights are safetensors only, written and read.
"""

import contextlib
import importlib
import inspect
import json
import os
import shutil
from typing import Any, Dict, Optional, Tuple, Union

# Libraries whose components diffusers can import by name; anything else is a component whose
# modeling code ships inside the exported folder.
KNOWN_LIBRARIES = ("diffusers", "transformers")
# What a Hub snapshot needs: weights, configs, code, card and images, tokenizer vocabularies.
_SNAPSHOT_PATTERNS = ["*.json", "*.safetensors", "*.py", "*.md", "*.png", "*.txt", "*.model"]
# Weight files that are pickles (unpickling runs code): never loaded.
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
# `save_pretrained` arguments that only matter for diffusers' `push_to_hub` (accepted and unused here).
_PUSH_KWARGS = ("commit_message", "private", "create_pr", "token", "repo_id")

_INDEX_SHAPE = (
    'a JSON object mapping each component to [library or module file, class name], e.g. '
    '{"_class_name": ["pipeline_gan", "GANPipeline"], "gan_generator": ["modeling_dcgan", "DCGANGenerator"]}'
)


@contextlib.contextmanager
def quiet_transformers_progress_bars():
    """Hides transformers' "Writing model shards" / "Loading weights" bars inside the block.

    A pipeline saves and loads its small components one by one: a bar for each is noise. Only
    transformers' own switch is turned off (not huggingface_hub's, which also drives download bars),
    and it is restored on exit, so the user's global setting is left as it was.
    """
    from transformers.utils import logging as transformers_logging

    if not transformers_logging.is_progress_bar_enabled():
        yield
        return
    # `disable_progress_bar()` would also switch off huggingface_hub's bars for the whole process
    # (and clear their per-group settings): flip transformers' flag alone, then put it back.
    transformers_logging._tqdm_active = False
    try:
        yield
    finally:
        transformers_logging._tqdm_active = True


# -- files -----------------------------------------------------------------------------------------


def apply_umask_mode(paths) -> None:
    """Gives each file in `paths` (files, or folders walked recursively) the mode of the user's umask.

    safetensors (>= 0.6) writes through a temporary file renamed in place, so weights end up 0600
    whatever the umask; every other file the user gets follows the umask, and so should these.
    """
    mask = os.umask(0o022)  # the umask can only be read by setting it
    os.umask(mask)
    mode = 0o666 & ~mask
    for path in [paths] if isinstance(paths, (str, os.PathLike)) else paths:
        files = [path] if os.path.isfile(path) else [os.path.join(d, f) for d, _, names in os.walk(path) for f in names]
        for file in files:
            if not os.path.islink(file) and (os.stat(file).st_mode & 0o777) != mode:
                os.chmod(file, mode)


def refuse_pickle_weights(subfolder: str, component: str) -> None:
    """Refuses a component folder whose weights exist only as pickle files.

    `torch.load(weights_only=True)` accepts a plain state dict, so only this policy keeps a
    `pytorch_model.bin` / `diffusion_pytorch_model.bin` from being read: hfgen reads safetensors only.
    """
    names = sorted(os.listdir(subfolder))
    pickles = [n for n in names if n.endswith(_PICKLE_SUFFIXES)]
    if pickles and not any(n.endswith(".safetensors") for n in names):
        raise ValueError(
            f"Component '{component}' has weights only in pickle format ({', '.join(pickles)} in {subfolder}); hfgen "
            "loads safetensors only, because unpickling a file can run code. If you trust the file, convert it: load "
            "the model with its library and save it again with `save_pretrained(..., safe_serialization=True)`."
        )


def resolve_folder(path: str, **hub_kwargs) -> str:
    """A local folder as is, otherwise a snapshot of the Hub repository `path`."""
    if os.path.isdir(path):
        return path
    if os.path.exists(path) or os.path.isabs(path) or path.startswith((".", "~")) or path.count("/") > 1:
        # Clearly meant as a local path: say so instead of huggingface_hub's "Repo id must be..." error.
        raise ValueError(
            f"{path} is not a folder: pass the folder of an exported pipeline (with model_index.json) "
            "or a Hub repository id such as 'user/my-gan'."
        )
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(repo_id=path, allow_patterns=_SNAPSHOT_PATTERNS, **hub_kwargs)
    except (OSError, ValueError) as error:  # not found, offline, unreachable, invalid id...
        # Most often a mistyped local path ("outputs/dmeo"): say both readings were tried.
        raise OSError(
            f"Could not load {path!r}: there is no local folder of that name, and fetching it as a Hub repository "
            f"failed ({type(error).__name__}: {error})"
        ) from error


def read_model_index(folder: str) -> Dict[str, Any]:
    """Parses `folder/model_index.json`, with an error naming the file and the expected shape."""
    index_path = os.path.join(folder, "model_index.json")
    if not os.path.isfile(index_path):
        raise ValueError(f"{folder} has no model_index.json: it is not a saved pipeline folder.")
    try:
        with open(index_path, encoding="utf-8") as f:
            index = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{index_path} is not valid JSON ({error}). It should hold {_INDEX_SHAPE}. "
            "Export the pipeline again (or download the repository again if the file was cut short)."
        ) from None
    if not isinstance(index, dict):
        raise ValueError(f"{index_path} holds a JSON {type(index).__name__}; expected {_INDEX_SHAPE}.")
    for key, value in index.items():
        if key.startswith("_") or isinstance(value, (bool, int, float)) or value is None:
            continue  # metadata (_class_name, _diffusers_version) and plain pipeline settings
        valid = (
            isinstance(value, list)
            and len(value) == 2
            and (value == [None, None] or all(isinstance(v, str) and v for v in value))
        )
        if not valid:
            raise ValueError(
                f"{index_path}: entry {key!r} is {json.dumps(value)}; expected [library or module file, class name] "
                f"(or [null, null] for an absent component). The file should hold {_INDEX_SHAPE}."
            )
    return index


# -- loading ---------------------------------------------------------------------------------------


def installed_class(subfolder: str, module_stem: str, class_name: str):
    """The class `class_name` from an installed package that registered the folder's config type.

    A package such as hfgen registers its configs with `AutoConfig`; its modeling module sits next
    to the configuration module (transformers' naming convention). Returns None when no installed
    package provides the model type.
    """
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    with open(os.path.join(subfolder, "config.json"), encoding="utf-8") as f:
        model_type = json.load(f).get("model_type")
    if model_type is None or model_type not in CONFIG_MAPPING:
        return None
    config_module = CONFIG_MAPPING[model_type].__module__
    module = importlib.import_module(config_module.rsplit(".", 1)[0] + "." + module_stem)
    return getattr(module, class_name, None)


def _has_weights(cls) -> bool:
    """Whether `cls` is a model class of diffusers or transformers (it has weights to read)."""
    from diffusers import ModelMixin
    from transformers import PreTrainedModel

    return isinstance(cls, type) and issubclass(cls, (ModelMixin, PreTrainedModel))


def load_component(folder: str, name: str, library: str, class_name: str, trust_remote_code: bool = False):
    """Loads component `name` from `folder/name` (index entry `[library, class_name]`), from safetensors only."""
    subfolder = os.path.join(folder, name)
    if not os.path.isdir(subfolder):
        raise ValueError(f"model_index.json lists component '{name}', but {subfolder} does not exist.")
    refuse_pickle_weights(subfolder, name)
    try:
        if os.path.isfile(os.path.join(subfolder, library + ".py")):
            cls = installed_class(subfolder, library, class_name)
            if cls is None:
                if not trust_remote_code:
                    raise ValueError(
                        f"Component '{name}' ({class_name}) is defined by code shipped in the repository "
                        f"({name}/{library}.py), and no installed package provides it. Either install hfgen "
                        "in this environment, or read that code and pass `trust_remote_code=True`."
                    )
                from transformers import AutoModel

                with quiet_transformers_progress_bars():
                    return AutoModel.from_pretrained(subfolder, trust_remote_code=True, use_safetensors=True)
        elif library in KNOWN_LIBRARIES:
            cls = getattr(importlib.import_module(library), class_name, None)
            if cls is None:
                raise ValueError(f"Component '{name}' names {library}.{class_name}, which this {library} does not have.")
        else:
            raise ValueError(f"Component '{name}' names library '{library}', which is not supported.")
        # Models of both libraries get use_safetensors=True (diffusers' ModelMixin takes it through
        # **kwargs, so it must not depend on the signature); schedulers and tokenizers hold no weights.
        kwargs = {"use_safetensors": True} if _has_weights(cls) else {}
        with quiet_transformers_progress_bars():
            return cls.from_pretrained(subfolder, **kwargs)
    except ValueError:
        raise
    except Exception as error:  # library errors (OSError, SafetensorError...) get the fix attached
        raise ValueError(
            f"Could not load component '{name}' from {subfolder}: {error}\n"
            "hfgen loads weights from safetensors files only (never pickle files). If the file "
            "is truncated or corrupt, download or export the model again."
        ) from error


# -- saving ----------------------------------------------------------------------------------------


def _warn_unless_self_contained(model_class: type) -> None:
    """Warns when a custom component's code could not load from a Hub repository id.

    From a repository id, diffusers downloads only `<component>/<module>.py` and transformers only
    the `auto_map` files at the root: a relative import in that file, or a config class defined in
    another file, would be missing there (the saved folder itself still loads).
    """
    from diffusers.utils import logging as diffusers_logging
    from diffusers.utils.dynamic_modules_utils import get_relative_imports

    source = inspect.getsourcefile(model_class)
    config_class = getattr(model_class, "config_class", None)
    problems = []
    if config_class is not None and inspect.getsourcefile(config_class) != source:
        problems.append(f"its config class {config_class.__name__} is defined in another file")
    relative = get_relative_imports(source)
    if relative:
        problems.append(f"it imports {relative} relatively")
    if problems:
        diffusers_logging.get_logger(__name__).warning(
            f"{model_class.__name__} ({os.path.basename(source)}): {' and '.join(problems)}. The saved folder loads, "
            "but once pushed, `DiffusionPipeline.from_pretrained(repo_id, trust_remote_code=True)` will not find "
            "those files: define the config class in the modeling file and import only torch/transformers there."
        )


def _library(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


def save_component(component: Any, subfolder: str, max_shard_size=None) -> Tuple[str, str]:
    """Saves one component; returns its `model_index.json` entry [library or module file, class name]."""
    save = component.save_pretrained
    parameters = inspect.signature(save).parameters
    kwargs = {}
    # As diffusers' own DiffusionPipeline.save_pretrained: only what each save method accepts
    # (schedulers and tokenizers have no weights, hence no safe_serialization).
    if "safe_serialization" in parameters:
        kwargs["safe_serialization"] = True
    if max_shard_size is not None and "max_shard_size" in parameters:
        kwargs["max_shard_size"] = max_shard_size
    if _library(component) in KNOWN_LIBRARIES:
        with quiet_transformers_progress_bars():
            save(subfolder, **kwargs)
        return _library(component), type(component).__name__
    _warn_unless_self_contained(type(component))
    # Custom code: transformers copies the modeling file and writes `auto_map`.
    type(component).register_for_auto_class("AutoModel")
    type(component.config).register_for_auto_class("AutoConfig")
    with quiet_transformers_progress_bars():
        save(subfolder, **kwargs)
    return type(component).__module__.rsplit(".", 1)[-1], type(component).__name__


def save_pipeline_folder(
    pipeline, save_directory: Union[str, os.PathLike], training_components: Optional[Dict[str, Any]] = None,
    max_shard_size=None,
) -> None:
    """Writes `pipeline` (any DiffusionPipeline) to `save_directory`; loads with or without hfgen.

    Each component goes to its own subfolder; `model_index.json` lists it by library or by module
    file. A pipeline class of hfgen (not diffusers) is recorded as `["pipeline_<task>", "<Class>"]`
    and its file and the files it imports relatively are copied to the root; a diffusers pipeline
    class is recorded by name, so a folder of standard components is a stock diffusers folder.
    `training_components` (e.g. `{"discriminator": D}`) are saved to their own subfolders and left
    out of `model_index.json`. Other files already in the folder are kept. Written files get the
    user's umask.
    """
    import diffusers
    from diffusers.utils.dynamic_modules_utils import get_relative_import_files

    save_directory = os.fspath(save_directory)
    training_components = dict(training_components or {})
    # diffusers' `config` records every registered module (optional ones too) as (library, class)
    # and every other pipeline setting (e.g. a flag given to `register_to_config`) as its value.
    settings = {k: v for k, v in pipeline.config.items() if not k.startswith("_")}
    components = {k: getattr(pipeline, k) for k, v in settings.items() if isinstance(v, (list, tuple))}
    clash = sorted(set(training_components) & set(components))
    if clash:
        raise ValueError(f"training component names {clash} clash with the pipeline's components.")
    os.makedirs(save_directory, exist_ok=True)
    written, code_files = [], set()
    if _library(pipeline) == "diffusers":
        index = {"_class_name": type(pipeline).__name__}
    else:
        # The pipeline file and the files it imports relatively (this one): diffusers fetches those
        # from the repository root when it resolves the pipeline class from a repo id.
        pipeline_file = inspect.getsourcefile(type(pipeline))
        code_files |= {pipeline_file, *get_relative_import_files(pipeline_file)}
        index = {"_class_name": [os.path.splitext(os.path.basename(pipeline_file))[0], type(pipeline).__name__]}
    index["_diffusers_version"] = diffusers.__version__
    index.update({k: v for k, v in settings.items() if k not in components})
    for name, component in sorted(components.items()) + sorted(training_components.items()):
        if component is None:
            index[name] = [None, None]
            continue
        entry = save_component(component, os.path.join(save_directory, name), max_shard_size=max_shard_size)
        written.append(os.path.join(save_directory, name))
        if name in components:
            index[name] = list(entry)
        if _library(component) not in KNOWN_LIBRARIES:
            code_files.add(inspect.getsourcefile(type(component)))
    for source in sorted(code_files):
        target = os.path.join(save_directory, os.path.basename(source))
        if os.path.abspath(source) != os.path.abspath(target):
            shutil.copyfile(source, target)
        written.append(target)
    index_path = os.path.join(save_directory, "model_index.json")
    with open(index_path + ".tmp", "w", encoding="utf-8") as f:  # a reader never sees half an index
        json.dump(index, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(index_path + ".tmp", index_path)
    apply_umask_mode(written + [index_path])


# -- the pipeline mixin ----------------------------------------------------------------------------


class HfgenPipelineMixin:
    """`save_pretrained` / `from_pretrained` for hfgen's pipelines: `class XPipeline(HfgenPipelineMixin, DiffusionPipeline)`.

    Not a DiffusionPipeline itself, so a pipeline file holds exactly one pipeline class (what
    diffusers' `find_pipeline_class` expects).
    """


    @staticmethod
    def check_output_type(output_type: str) -> None:
        """Raises ValueError unless `output_type` is "pil", "np" or "pt" (checked before any work is done)."""
        if output_type not in ("pil", "np", "pt"):
            raise ValueError(f"output_type={output_type!r} is not supported; choose 'pil', 'np' or 'pt'.")

    def images_output(self, samples, output_type: str = "pil", return_dict: bool = True):
        """The end of every hfgen image pipeline's `__call__`: samples in [-1, 1], [N, C, H, W], become images in
        [0, 1] as "pt" (NCHW tensor), "np" (NHWC array) or "pil", in an `ImagePipelineOutput` (or a 1-tuple)."""
        from diffusers import ImagePipelineOutput

        images = (samples / 2 + 0.5).clamp(0, 1)
        if output_type != "pt":
            images = images.cpu().permute(0, 2, 3, 1).float().numpy()
            if output_type == "pil":
                images = self.numpy_to_pil(images)
        self.maybe_free_model_hooks()
        return ImagePipelineOutput(images=images) if return_dict else (images,)
    def save_pretrained(
        self,
        save_directory: Union[str, os.PathLike],
        safe_serialization: bool = True,
        variant: Optional[str] = None,
        max_shard_size: Optional[Union[int, str]] = None,
        push_to_hub: bool = False,
        **kwargs,
    ) -> None:
        r"""Writes a folder that loads with and without hfgen installed, locally and from the Hub.

        Each component goes to its own subfolder as safetensors + config. A component whose code is
        not part of diffusers/transformers gets its modeling file next to it (`register_for_auto_class`
        writes `auto_map`) AND at the folder's root: that file must be self-contained, because from a
        Hub repository id diffusers downloads only `<component>/<module>.py` and transformers'
        `AutoModel.from_pretrained(repo, subfolder=...)` fetches the code from the repository root.
        This pipeline file and this save/load file are copied to the root and `model_index.json`
        points at all of them, so `DiffusionPipeline.from_pretrained(folder_or_repo_id,
        trust_remote_code=True)` needs no hfgen. Models needed only to resume training (a
        discriminator) are written by `hfgen.hub.export_folder(pipeline, folder, training_components=...)`.

        Args:
            save_directory: the folder to write (created if needed; other files in it are kept).
            safe_serialization: must stay True: weights are written as safetensors only.
            variant: not supported (weights are saved under their standard names).
            max_shard_size: passed to the components' `save_pretrained` that accept it.
            push_to_hub: not supported here: push the folder with `hfgen push DIR REPO_ID` (model card,
                ignore patterns, clear errors) or `huggingface_hub.HfApi().upload_folder`.
            kwargs: diffusers' push arguments (`commit_message`, `private`, `create_pr`, `token`,
                `repo_id`) are accepted and unused, as diffusers does without `push_to_hub`.
        """
        if not safe_serialization:
            raise ValueError(f"{type(self).__name__} saves weights as safetensors only; leave safe_serialization=True.")
        if variant is not None:
            raise ValueError(f"variant={variant!r} is not supported: {type(self).__name__} saves weights under their standard names.")
        if push_to_hub:
            raise ValueError(
                "save_pretrained(push_to_hub=True) is not supported: save the folder, then push it with "
                "`hfgen push DIR REPO_ID` (writes the model card and leaves checkpoints/ out), or "
                "`huggingface_hub.HfApi().upload_folder(folder_path=DIR, repo_id=REPO_ID)` without hfgen."
            )
        if "training_components" in kwargs:
            raise TypeError(
                "save_pretrained keeps diffusers' signature; write a folder with training components through "
                "`hfgen.hub.export_folder(pipeline, folder, training_components={...})`."
            )
        unknown = sorted(set(kwargs) - set(_PUSH_KWARGS))
        if unknown:
            raise TypeError(f"Unexpected arguments for {type(self).__name__}.save_pretrained: {unknown}")
        save_pipeline_folder(self, save_directory, max_shard_size=max_shard_size)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Union[str, os.PathLike], **kwargs):
        r"""Loads a folder or Hub repository written by `save_pretrained`.

        Called on this class, the pipeline code of the folder is not executed. Components whose
        modeling code ships in the folder are built from the installed package that registered
        their config type (hfgen); where none is installed, `trust_remote_code=True` must be passed
        explicitly, as with `DiffusionPipeline.from_pretrained`. Weights load from safetensors only.

        Args:
            pretrained_model_name_or_path: a local folder or a Hub repository id.
            kwargs: `revision`, `token`, `cache_dir`, `local_files_only` (Hub download);
                `trust_remote_code`; `torch_dtype`; components to use instead of the saved ones.
        """
        trust_remote_code = kwargs.pop("trust_remote_code", False)
        kwargs.pop("use_safetensors", None)  # always safetensors
        dtype = kwargs.pop("torch_dtype", None) or kwargs.pop("dtype", None)
        hub_kwargs = {k: kwargs.pop(k) for k in ("revision", "token", "cache_dir", "local_files_only") if k in kwargs}
        folder = resolve_folder(str(pretrained_model_name_or_path), **hub_kwargs)
        index = read_model_index(folder)
        index_path = os.path.join(folder, "model_index.json")
        components = {}
        for name, parameter in inspect.signature(cls.__init__).parameters.items():
            if name == "self" or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            if name in kwargs:
                components[name] = kwargs.pop(name)
                continue
            spec = index.get(name)
            if spec is None:
                if parameter.default is not parameter.empty:
                    continue  # an optional setting the folder does not record
                raise ValueError(
                    f"{index_path} has no entry for component '{name}': expected \"{name}\": [\"<library or "
                    f"module file>\", \"<class name>\"]. Export the pipeline again, or pass {name}=... to from_pretrained."
                )
            if not isinstance(spec, list):
                components[name] = spec  # a plain pipeline setting
            elif spec[0] is None:
                components[name] = None
            else:
                components[name] = load_component(folder, name, spec[0], spec[1], trust_remote_code)
        if kwargs:
            raise TypeError(f"Unexpected arguments for {cls.__name__}.from_pretrained: {sorted(kwargs)}")
        pipe = cls(**components)
        if dtype is not None:
            pipe.to(dtype=dtype)
        return pipe


def prompt_list(value: Any, name: str = "prompt") -> list:
    """`value` (a string or a list of strings) as a non-empty list of strings; a ValueError names the problem."""
    prompts = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    if prompts is None or not all(isinstance(p, str) for p in prompts):
        kind = type(value).__name__ if prompts is None else sorted({type(p).__name__ for p in prompts})
        raise ValueError(f"{name} must be a string or a list of strings, got {kind}.")
    if not prompts:
        raise ValueError(f"{name} is an empty list: pass at least one prompt (a string or a list of strings).")
    return prompts


def check_prompt_or_embeds(prompt: Any, prompt_embeds: Any) -> None:
    """Raises ValueError unless exactly one of `prompt` and `prompt_embeds` is given."""
    if prompt is not None and prompt_embeds is not None:
        raise ValueError("Pass either prompt or prompt_embeds, not both (prompt_embeds replace the encoded prompt).")
    if prompt is None and prompt_embeds is None:
        raise ValueError("Pass prompt (a string or a list of strings) or prompt_embeds (from pipe.encode_prompt).")

def tokenize_prompts(tokenizer: Any, text_encoder: Any, prompts: list, logger: Any) -> Dict[str, Any]:
    """Token ids and attention masks of `prompts`, padded and truncated to the tokenizer's max length.

    What a user would not see otherwise is said on `logger`: prompts longer than the limit (their end
    is ignored) and prompts made only of words outside the vocabulary (all `[UNK]`: they carry no
    information). Tokenizers without a limit fall back to the text encoder's position embeddings.
    """
    limit = int(getattr(tokenizer, "model_max_length", 0) or 0)
    if limit <= 0 or limit > 10_000:  # tokenizers without a limit report a huge sentinel value
        limit = int(getattr(text_encoder.config, "max_position_embeddings", 77))
    full = tokenizer(prompts, truncation=False, add_special_tokens=True)["input_ids"]
    too_long = [p for p, ids in zip(prompts, full) if len(ids) > limit]
    if too_long:
        logger.warning(f"{len(too_long)} prompt(s) are longer than the tokenizer's {limit} tokens and were truncated "
                       f"(e.g. {too_long[0][:60]!r}): the end of such prompts is ignored.")
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is not None:
        special = set(tokenizer.all_special_ids) - {unk}
        unknown = [p for p, ids in zip(prompts, full) if [i for i in ids if i not in special] and
                   all(i == unk for i in ids if i not in special)]
        if unknown:
            logger.warning(f"{len(unknown)} prompt(s) have only words outside the tokenizer's vocabulary (e.g. {unknown[0]!r}): "
                           "they are mapped to [UNK] and carry no information; use the words of the training captions.")
    return tokenizer(prompts, padding="max_length", truncation=True, max_length=limit, return_tensors="pt")


def prepare_image_input(image: Any, image_size: int, num_channels: int, *, role: str = "image"):
    """Turns a pipeline's image input into a float tensor [N, num_channels, image_size, image_size] in [-1, 1].

    Accepted, as in diffusers' image-to-image pipelines: a `PIL.Image.Image` or a list of them; a numpy
    array [H, W], [H, W, C] or [N, H, W, C] (uint8 in [0, 255] or float in [0, 1]); a torch tensor
    [C, H, W] or [N, C, H, W] in [0, 1]; or a list of arrays/tensors. Images of another size are
    resized (bicubic) to the size the model was trained at, and images with another channel count
    are converted (grayscale <-> RGB, alpha dropped), each with one warning naming what was done.
    """
    import numpy as np
    import torch
    from diffusers.utils import logging as diffusers_logging
    from PIL import Image

    logger = diffusers_logging.get_logger(__name__)
    if image is None or (isinstance(image, (list, tuple)) and len(image) == 0):
        raise ValueError(f"`{role}` is empty: pass a PIL image, a numpy array, a torch tensor or a non-empty list of them.")
    items = list(image) if isinstance(image, (list, tuple)) else [image]
    if isinstance(image, np.ndarray) and image.ndim == 4:
        items = list(image)
    if isinstance(image, torch.Tensor) and image.ndim == 4:
        items = list(image)
    mode = "RGB" if num_channels == 3 else "L" if num_channels == 1 else None
    if mode is None:
        raise ValueError(f"Only 1- or 3-channel models take image input, this one has {num_channels} channels.")
    converted, resized = set(), set()
    tensors = []
    for index, item in enumerate(items):
        if isinstance(item, torch.Tensor):
            if item.ndim != 3 or item.shape[0] not in (1, 3, 4):
                raise ValueError(f"`{role}` tensor {index} must be [C, H, W] or [N, C, H, W] with C in 1, 3, 4; got {tuple(item.shape)}.")
            if item.min() < 0 or item.max() > 1:
                raise ValueError(
                    f"`{role}` tensor {index} has values in [{float(item.min()):.2f}, {float(item.max()):.2f}]: tensors are "
                    "expected in [0, 1] (as in diffusers' image pipelines); pass (x + 1) / 2 for [-1, 1] data."
                )
            item = item.detach().float().cpu().permute(1, 2, 0).numpy()
        if isinstance(item, np.ndarray):
            array = item
            if array.ndim == 3 and array.shape[-1] == 1:
                array = array[..., 0]
            if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
                raise ValueError(f"`{role}` array {index} must be [H, W], [H, W, C] or [N, H, W, C]; got {item.shape}.")
            if array.dtype != np.uint8:
                if array.min() < 0 or array.max() > 1:
                    raise ValueError(f"`{role}` float array {index} must hold values in [0, 1] (or be uint8 in [0, 255]).")
                array = np.round(array * 255).astype(np.uint8)
            item = Image.fromarray(array)
        if not isinstance(item, Image.Image):
            raise TypeError(f"`{role}` item {index} is a {type(item).__name__}; pass PIL images, numpy arrays or torch tensors.")
        if item.mode != mode:
            converted.add(f"{item.mode} -> {mode}")
            item = item.convert(mode)
        if item.size != (image_size, image_size):
            resized.add(f"{item.size[0]}x{item.size[1]}")
            item = item.resize((image_size, image_size), Image.BICUBIC)
        array = np.asarray(item, dtype=np.float32) / 127.5 - 1.0
        tensors.append(torch.from_numpy(array.reshape(image_size, image_size, num_channels)).permute(2, 0, 1))
    if converted:
        logger.warning(f"Converted the {role} colour mode ({', '.join(sorted(converted))}): this model takes {num_channels}-channel images.")
    if resized:
        logger.warning(
            f"Resized the {role} from {', '.join(sorted(resized))} to {image_size}x{image_size}, the size this model was trained at."
        )
    return torch.stack(tensors)
