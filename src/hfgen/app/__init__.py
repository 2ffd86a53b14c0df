"""`hfgen app` (a Gradio page for any exported folder or Hub repo) and `hfgen space` (the same page as a Hub Space).

Importing this package does not import gradio: only building or launching a page does (the `app` extra).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from .demo import FAMILIES, MAX_IMAGES, MAX_UPLOAD_MB, DemoError, DemoModel, build_demo

INSTALL_HINT = (
    "hfgen app needs Gradio, an optional extra: pip install 'hfgen[app]' "
    "(in a checkout: pip install -e \".[app]\")."
)


def gradio_available() -> bool:
    """True when gradio can be imported (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("gradio") is not None


def load_model(source: str, device: Optional[str] = None, trust_remote_code: bool = False) -> DemoModel:
    """The demo model of an hfgen folder or Hub repo, loaded with hfgen's `load_pipeline` (safetensors only;
    remote pipeline code only with `trust_remote_code=True`). Never raises: a failure is `model.load_error`."""

    def loader(path: str):
        from hfgen.pipelines import load_pipeline

        return load_pipeline(path, trust_remote_code=trust_remote_code)

    return DemoModel(source, loader, device=device)


def cli_app(argv: Optional[Sequence[str]] = None) -> int:
    """``hfgen app MODEL [--host 127.0.0.1] [--port 7860] [--device cpu|cuda] [--trust_remote_code] [--share]``."""
    parser = argparse.ArgumentParser(
        prog="hfgen app",
        description="Serve a Gradio page for an exported folder or Hub repository: the family's controls, a gallery "
                    f"and the model card's evaluation (at most {MAX_IMAGES} images per click, uploads up to {MAX_UPLOAD_MB} MB).",
    )
    parser.add_argument("model", help="An exported folder (model_index.json at its root) or a Hub repository id.")
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (0.0.0.0 for every interface).")
    parser.add_argument("--port", type=int, default=7860, help="Port to listen on.")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available, else cpu).")
    parser.add_argument("--trust_remote_code", action="store_true",
                        help="Run pipeline code shipped in the folder/repo when hfgen has no class for it (read it first).")
    parser.add_argument("--share", action="store_true", help="Also open a temporary public gradio.live link.")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if not gradio_available():
        print(f"error: {INSTALL_HINT}", file=sys.stderr)
        return 1
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    model = load_model(args.model, device=args.device, trust_remote_code=args.trust_remote_code)
    if model.load_error:  # the page still starts and shows it; say it here too
        print(f"warning: {model.load_error}", file=sys.stderr)
    demo = build_demo(model)
    print(f"hfgen app: {model.family.title if model.family else 'no model'} on {model.device}; http://{args.host}:{args.port}",
          flush=True)
    demo.queue(max_size=16).launch(server_name=args.host, server_port=args.port, share=args.share, show_error=True,
                                   max_file_size=f"{MAX_UPLOAD_MB}mb")
    return 0


def cli_space(argv: Optional[Sequence[str]] = None) -> int:
    """``hfgen space DIR SPACE_ID [--model_repo REPO]``: push a Gradio Space that loads the model repo by id."""
    from .space import cli_space as run

    return run(argv)


__all__ = ["DemoError", "DemoModel", "FAMILIES", "INSTALL_HINT", "build_demo", "cli_app", "cli_space", "gradio_available", "load_model"]
