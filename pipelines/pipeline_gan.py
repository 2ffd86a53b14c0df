"""GANPipeline: sampling from a GAN generator G with the diffusers `DiffusionPipeline` API.

This file is self-contained (torch, diffusers, transformers, huggingface_hub only): hfgen ships it
verbatim inside every exported repository, so that

    DiffusionPipeline.from_pretrained(repo, trust_remote_code=True)

works where hfgen is not installed.
"""

import contextlib
import importlib
import inspect
import json
import os
import shutil
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from diffusers.utils.torch_utils import randn_tensor

EXAMPLE_DOC_STRING = """
    Examples:
        ```py
        >>> import torch
        >>> from hfgen import DCGANConfig, DCGANGenerator, GANPipeline

        >>> config = DCGANConfig(image_size=32, num_channels=3, latent_dim=64, generator_channels=16)
        >>> pipe = GANPipeline(gan_generator=DCGANGenerator(config).eval())
        >>> image = pipe(batch_size=4, generator=torch.manual_seed(0)).images[0]
        >>> image.size
        (32, 32)

        >>> # a trained model: a local folder or a Hub repository
        >>> # pipe = GANPipeline.from_pretrained("user/wgan-gp-mnist")
        ```
"""

# Libraries whose components diffusers can import by name; anything else is a component whose
# modeling code ships inside the exported folder.
_KNOWN_LIBRARIES = ("diffusers", "transformers")
_WEIGHT_PATTERNS = ["*.json", "*.safetensors", "*.py", "*.md", "*.png", "*.txt"]


@contextlib.contextmanager
def _quiet_transformers_progress_bars():
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


def _resolve_folder(path: str, **hub_kwargs) -> str:
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
        return snapshot_download(repo_id=path, allow_patterns=_WEIGHT_PATTERNS, **hub_kwargs)
    except (OSError, ValueError) as error:  # not found, offline, unreachable, invalid id...
        # Most often a mistyped local path ("outputs/dmeo"): say both readings were tried.
        raise OSError(
            f"Could not load {path!r}: there is no local folder of that name, and fetching it as a Hub repository "
            f"failed ({type(error).__name__}: {error})"
        ) from error


def _installed_class(subfolder: str, module_stem: str, class_name: str):
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


def _load_component(folder: str, name: str, library: str, class_name: str, trust_remote_code: bool):
    """Loads one component from `folder/name`, from safetensors weights only."""
    subfolder = os.path.join(folder, name)
    if not os.path.isdir(subfolder):
        raise ValueError(f"model_index.json lists component '{name}', but {subfolder} does not exist.")
    try:
        if os.path.isfile(os.path.join(subfolder, library + ".py")):
            cls = _installed_class(subfolder, library, class_name)
            if cls is not None:
                with _quiet_transformers_progress_bars():
                    return cls.from_pretrained(subfolder, use_safetensors=True)
            if not trust_remote_code:
                raise ValueError(
                    f"Component '{name}' ({class_name}) is defined by code shipped in the repository "
                    f"({name}/{library}.py), and no installed package provides it. Either install hfgen "
                    "in this environment, or read that code and pass `trust_remote_code=True`."
                )
            from transformers import AutoModel

            with _quiet_transformers_progress_bars():
                return AutoModel.from_pretrained(subfolder, trust_remote_code=True, use_safetensors=True)
        if library not in _KNOWN_LIBRARIES:
            raise ValueError(f"Component '{name}' names library '{library}', which is not supported.")
        cls = getattr(importlib.import_module(library), class_name)
        kwargs = {"use_safetensors": True} if "use_safetensors" in inspect.signature(cls.from_pretrained).parameters else {}
        with _quiet_transformers_progress_bars():
            return cls.from_pretrained(subfolder, **kwargs)
    except ValueError:
        raise
    except Exception as error:  # library errors (OSError, SafetensorError...) get the fix attached
        raise ValueError(
            f"Could not load component '{name}' from {subfolder}: {error}\n"
            "GANPipeline loads weights from `model.safetensors` only (never pickle files). If the file "
            "is truncated or corrupt, download or export the model again."
        ) from error


def _warn_unless_self_contained(model_class: type) -> None:
    """Warns when a custom component's code could not load from a Hub repository id.

    From a repository id, diffusers downloads only `<component>/<module>.py` and transformers only
    the `auto_map` files at the root: a relative import in that file, or a config class defined in
    another file, would be missing there (the saved folder itself still loads). hfgen's own
    families are self-contained; this catches other code (e.g. an older copy loaded remotely).
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


_INDEX_SHAPE = (
    'a JSON object mapping each component to [library or module file, class name], e.g. '
    '{"_class_name": ["pipeline_gan", "GANPipeline"], "gan_generator": ["modeling_dcgan", "DCGANGenerator"]}'
)


def _read_model_index(index_path: str) -> Dict[str, Any]:
    """Parses `model_index.json`, with an error naming the file and the expected shape."""
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
        if key.startswith("_"):
            continue  # metadata such as _class_name, _diffusers_version
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


def _module_stem(obj: Any) -> str:
    """File name (without .py) of the module that defines `obj`'s class."""
    return type(obj).__module__.rsplit(".", 1)[-1]


class GANPipeline(DiffusionPipeline):
    r"""Pipeline for sampling from a GAN generator G: x = G(z), z ~ N(0, I).

    This model inherits from [`DiffusionPipeline`]. Check the superclass documentation for the
    generic methods implemented for all pipelines (downloading, saving, running on a device...).

    Parameters:
        gan_generator ([`PreTrainedModel`]):
            The generator G: `forward(latents, class_labels=None, condition_embeds=None)` returning
            images in [-1, 1] ([N, C, H, W]) or vectors ([N, D]); its config has `latent_dim`.
    """

    model_cpu_offload_seq = "gan_generator"

    def __init__(self, gan_generator):
        super().__init__()
        self.register_modules(gan_generator=gan_generator)

    def _class_names(self) -> Dict[str, int]:
        """Class name -> id from the generator config's `label2id` / `id2label`; empty when they hold
        only transformers' placeholders (`LABEL_0`, `LABEL_1`, ...), i.e. the classes have no names."""
        config = self.gan_generator.config
        # transformers 5 leaves label2id None when a config is built from id2label alone: invert it.
        names = {str(name): int(i) for i, name in (getattr(config, "id2label", None) or {}).items()}
        names.update({str(name): int(i) for name, i in (getattr(config, "label2id", None) or {}).items()})
        if all(name == f"LABEL_{i}" for name, i in names.items()):
            return {}
        return names

    def _label_id(self, label: Any, names: Dict[str, int]) -> int:
        """One class label (an int or a class name) as an int."""
        if isinstance(label, (str, np.str_)):
            if label in names:
                return names[label]
            if not names:
                raise ValueError(
                    f"class_labels={label!r} is a class name, but this generator's config has no class names "
                    "(its id2label holds only placeholders): pass integer class ids instead."
                )
            known = ", ".join(repr(n) for n, _ in sorted(names.items(), key=lambda item: item[1]))
            raise ValueError(f"Unknown class name {label!r}; this generator knows: {known} (or pass integer class ids).")
        if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)):
            raise ValueError(
                f"class_labels must be integer class ids or class names, got {label!r} ({type(label).__name__})."
            )
        return int(label)

    def _prepare_class_labels(self, class_labels, batch_size: int, generator) -> Optional[torch.Tensor]:
        """Class labels as an int64 tensor [batch_size], drawn uniformly when not given."""
        num_classes = getattr(self.gan_generator.config, "num_classes", 0)
        if num_classes == 0:
            if class_labels is not None:
                raise ValueError("This generator is unconditional: do not pass class_labels.")
            return None
        if class_labels is None:
            # Sample y ~ U{0..K-1} from the same torch.Generator, so seeded calls stay deterministic.
            gen = generator[0] if isinstance(generator, list) else generator
            device = gen.device if gen is not None else torch.device("cpu")
            labels = torch.randint(0, num_classes, (batch_size,), generator=gen, device=device)
        elif isinstance(class_labels, torch.Tensor) or (
            isinstance(class_labels, np.ndarray) and class_labels.dtype.kind not in "USO"  # not names
        ):
            tensor = torch.as_tensor(class_labels)
            if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
                raise ValueError(
                    f"class_labels must hold integer class ids, got {tensor.dtype} values "
                    f"{tensor.flatten()[:4].tolist()}: pass an integer tensor (e.g. torch.tensor([1, 3]))."
                )
            labels = tensor.flatten().long()
            if tensor.dim() == 0:  # one label for the whole batch, like an int
                labels = labels.repeat(batch_size)
        else:
            names = self._class_names()
            if isinstance(class_labels, np.ndarray):
                class_labels = class_labels.tolist()
            if isinstance(class_labels, (list, tuple)):
                labels = torch.tensor([self._label_id(label, names) for label in class_labels], dtype=torch.long)
            else:  # one int or name labels the whole batch
                labels = torch.full((batch_size,), self._label_id(class_labels, names), dtype=torch.long)
        if labels.shape[0] != batch_size:
            raise ValueError(f"Got {labels.shape[0]} class_labels for batch_size={batch_size}: pass one label per sample, or one for all.")
        outside = labels[(labels < 0) | (labels >= num_classes)]
        if outside.numel():
            raise ValueError(f"class_labels must lie in [0, {num_classes - 1}], got {outside.unique()[:8].tolist()}.")
        return labels.to(self.device)

    def _prepare_latents(self, latents, batch_size: Optional[int], generator) -> Tuple[torch.Tensor, int]:
        """Validated latents on the pipeline's device and dtype, drawn from N(0, I) when not given."""
        config = self.gan_generator.config
        if batch_size is not None:
            if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer)):
                raise ValueError(f"batch_size must be a positive integer, got {batch_size!r} ({type(batch_size).__name__}).")
            if batch_size < 1:
                raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
            batch_size = int(batch_size)
        if latents is None:
            batch_size = 1 if batch_size is None else batch_size
            shape = (batch_size, config.latent_dim)
            return randn_tensor(shape, generator=generator, device=self.device, dtype=self.gan_generator.dtype), batch_size
        # numpy latents are converted (the "np" outputs and most user code are numpy); other types are refused.
        if isinstance(latents, np.ndarray):
            if latents.dtype.kind not in "fiu":
                raise ValueError(f"latents must hold numbers, got a numpy array of dtype {latents.dtype}.")
            latents = torch.from_numpy(np.ascontiguousarray(latents))
        elif not isinstance(latents, torch.Tensor):
            raise ValueError(
                f"latents must be a torch.Tensor (or numpy array) of shape [batch_size, {config.latent_dim}], "
                f"got {type(latents).__name__}."
            )
        if latents.dim() < 2 or latents.shape[0] == 0 or latents[0].numel() != config.latent_dim:
            raise ValueError(f"latents must have shape [batch_size, {config.latent_dim}], got {tuple(latents.shape)}.")
        if batch_size is not None and batch_size != latents.shape[0]:
            raise ValueError(
                f"batch_size={batch_size} contradicts latents with {latents.shape[0]} rows: pass only latents "
                "(the batch size is their number of rows), or a matching batch_size."
            )
        latents = latents.to(device=self.device, dtype=self.gan_generator.dtype)
        if not torch.isfinite(latents).all():
            raise ValueError("latents contain NaN or infinite values: pass finite noise (e.g. from torch.randn).")
        return latents, latents.shape[0]

    @torch.no_grad()
    def __call__(
        self,
        batch_size: Optional[int] = None,
        class_labels: Optional[Union[int, str, List[Union[int, str]], torch.Tensor]] = None,
        condition_embeds: Optional[torch.Tensor] = None,
        generator: Optional[Union[torch.Generator, List[torch.Generator]]] = None,
        latents: Optional[Union[torch.Tensor, np.ndarray]] = None,
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> Union[ImagePipelineOutput, Tuple]:
        r"""Generates samples.

        Args:
            batch_size (`int`, *optional*): number of samples; defaults to 1, or to the number of
                rows of `latents` (a different value is an error).
            class_labels (`int`, `str`, `List[int | str]` or `torch.Tensor`, *optional*): labels
                for a class-conditional G, as integer ids or class names (the config's `label2id`,
                e.g. "cat"); one int or name labels the whole batch; drawn uniformly when omitted.
            condition_embeds (`torch.Tensor`, *optional*): [batch_size, condition_dim] condition
                vectors (e.g. text embeddings) for a G with `condition_dim > 0`.
            generator (`torch.Generator`, *optional*): makes sampling deterministic.
            latents (`torch.Tensor` or `np.ndarray`, *optional*): pre-drawn noise z of shape
                [batch_size, latent_dim], finite; numpy arrays are converted to tensors.
            output_type (`str`, defaults to "pil"): "pil", "np" (NHWC in [0, 1]) or "pt" (NCHW in
                [0, 1]); for vector generators "np" or "pt" (the raw points).
            return_dict (`bool`, defaults to True): return an [`ImagePipelineOutput`] or a tuple.

        Examples:

        Returns:
            [`ImagePipelineOutput`] or `tuple`: the samples, in `.images` (or the tuple's first item).
        """
        if output_type not in ("pil", "np", "pt"):
            raise ValueError(f"output_type={output_type!r} is not supported; choose 'pil', 'np' or 'pt'.")
        latents, batch_size = self._prepare_latents(latents, batch_size, generator)
        labels = self._prepare_class_labels(class_labels, batch_size, generator)
        if condition_embeds is not None:
            condition_embeds = condition_embeds.to(device=self.device, dtype=self.gan_generator.dtype)

        samples = self.gan_generator(latents, class_labels=labels, condition_embeds=condition_embeds)

        if samples.dim() == 2:  # vector data: points, no image conversion
            if output_type == "pil":
                raise ValueError("This generator produces vectors, not images: use output_type='np' or 'pt'.")
            out = samples.float().cpu().numpy() if output_type == "np" else samples
        else:
            images = (samples / 2 + 0.5).clamp(0, 1)
            if output_type == "pt":
                out = images
            else:
                out = images.cpu().permute(0, 2, 3, 1).float().numpy()
                if output_type == "pil":
                    out = self.numpy_to_pil(out)
        self.maybe_free_model_hooks()
        if not return_dict:
            return (out,)
        return ImagePipelineOutput(images=out)

    # -- export ---------------------------------------------------------------------------------

    def save_pretrained(
        self,
        save_directory: Union[str, os.PathLike],
        safe_serialization: bool = True,
        training_components: Optional[Dict[str, Any]] = None,
        push_to_hub: bool = False,
        **kwargs,
    ) -> None:
        r"""Writes a folder that loads with and without hfgen installed, locally and from the Hub.

        Each component goes to its own subfolder as safetensors + config. A component whose code is
        not part of diffusers/transformers gets its modeling file next to it (`register_for_auto_class`
        writes `auto_map`) AND at the folder's root: that file must be self-contained, because from a
        Hub repository id diffusers downloads only `<component>/<module>.py` and transformers'
        `AutoModel.from_pretrained(repo, subfolder=...)` fetches the code from the repository root.
        This pipeline file is copied to the root and `model_index.json` points at all of them, so
        `DiffusionPipeline.from_pretrained(folder_or_repo_id, trust_remote_code=True)` needs no hfgen.

        Args:
            save_directory: the folder to write (created if needed).
            safe_serialization: must stay True: weights are written as safetensors only.
            training_components: models needed only to resume training (e.g. `{"discriminator": D}`),
                saved to their own subfolders and left out of `model_index.json`.
            push_to_hub: upload the folder with `HfApi.upload_folder` (kwargs: `repo_id`, `private`,
                `token`, `commit_message`, `revision`).
        """
        if not safe_serialization:
            raise ValueError("GANPipeline saves weights as safetensors only; leave safe_serialization=True.")
        os.makedirs(save_directory, exist_ok=True)
        pipeline_file = inspect.getsourcefile(type(self))
        pipeline_stem = os.path.splitext(os.path.basename(pipeline_file))[0]
        index = {"_class_name": [pipeline_stem, type(self).__name__]}
        import diffusers

        index["_diffusers_version"] = diffusers.__version__
        from diffusers.utils.dynamic_modules_utils import get_relative_import_files

        # The pipeline file and the files it imports relatively (diffusers fetches those from the
        # repository root when it resolves the pipeline class from a repo id).
        code_files = {pipeline_file, *get_relative_import_files(pipeline_file)}
        saved = {name: component for name, component in self.components.items()}
        for name, component in (training_components or {}).items():
            if name in saved:
                raise ValueError(f"training component name '{name}' clashes with a pipeline component.")
        for name in sorted(self.components):
            component = self.components[name]
            if component is None:
                index[name] = [None, None]
                continue
            index[name] = list(self._save_component(component, os.path.join(save_directory, name)))
        for name, component in (training_components or {}).items():
            self._save_component(component, os.path.join(save_directory, name))
            saved[name] = component
        for component in saved.values():
            if component is not None and type(component).__module__.split(".")[0] not in _KNOWN_LIBRARIES:
                code_files.add(inspect.getsourcefile(type(component)))
        for source in sorted(code_files):
            target = os.path.join(save_directory, os.path.basename(source))
            if os.path.abspath(source) != os.path.abspath(target):
                shutil.copyfile(source, target)
        with open(os.path.join(save_directory, "model_index.json"), "w", encoding="utf-8") as f:
            json.dump(index, f, indent=2, sort_keys=True)
            f.write("\n")
        if push_to_hub:
            from huggingface_hub import HfApi

            repo_id = kwargs.pop("repo_id", None) or os.path.basename(os.path.abspath(save_directory))
            api = HfApi(token=kwargs.pop("token", None))
            api.create_repo(repo_id, private=kwargs.pop("private", None), exist_ok=True)
            api.upload_folder(
                folder_path=save_directory,
                repo_id=repo_id,
                commit_message=kwargs.pop("commit_message", "Upload pipeline"),
                revision=kwargs.pop("revision", None),
            )

    @staticmethod
    def _save_component(component: Any, subfolder: str) -> Tuple[str, str]:
        """Saves one model; returns its `model_index.json` entry [library or module file, class]."""
        library = type(component).__module__.split(".")[0]
        if library in _KNOWN_LIBRARIES:
            with _quiet_transformers_progress_bars():
                component.save_pretrained(subfolder, safe_serialization=True)
            return library, type(component).__name__
        _warn_unless_self_contained(type(component))
        # Custom code: transformers copies the modeling file and writes `auto_map`.
        type(component).register_for_auto_class("AutoModel")
        type(component.config).register_for_auto_class("AutoConfig")
        with _quiet_transformers_progress_bars():
            component.save_pretrained(subfolder, safe_serialization=True)
        return _module_stem(component), type(component).__name__

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Union[str, os.PathLike], **kwargs):
        r"""Loads a folder or Hub repository written by [`~GANPipeline.save_pretrained`].

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
        dtype = kwargs.pop("torch_dtype", None) or kwargs.pop("dtype", None)
        hub_kwargs = {k: kwargs.pop(k) for k in ("revision", "token", "cache_dir", "local_files_only") if k in kwargs}
        folder = _resolve_folder(str(pretrained_model_name_or_path), **hub_kwargs)
        index_path = os.path.join(folder, "model_index.json")
        if not os.path.isfile(index_path):
            raise ValueError(f"{folder} has no model_index.json: it is not a saved pipeline folder.")
        index = _read_model_index(index_path)
        expected = set(inspect.signature(cls.__init__).parameters) - {"self"}
        components = {}
        for name in sorted(expected):
            if name in kwargs:
                components[name] = kwargs.pop(name)
                continue
            spec = index.get(name)
            if spec is None:
                raise ValueError(
                    f"{index_path} has no entry for component '{name}': expected \"{name}\": [\"<library or "
                    f"module file>\", \"<class name>\"]. Export the pipeline again, or pass {name}=... to from_pretrained."
                )
            if spec[0] is None:
                components[name] = None
                continue
            components[name] = _load_component(folder, name, spec[0], spec[1], trust_remote_code)
        if kwargs:
            raise TypeError(f"Unexpected arguments for {cls.__name__}.from_pretrained: {sorted(kwargs)}")
        pipe = cls(**components)
        if dtype is not None:
            pipe.to(dtype=dtype)
        return pipe


GANPipeline.__call__.__doc__ = GANPipeline.__call__.__doc__.replace("Examples:\n", EXAMPLE_DOC_STRING.strip("\n") + "\n", 1)
