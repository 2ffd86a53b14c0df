"""Pushing an exported folder to the Hugging Face Hub over its HTTP API (never a git clone).

:func:`push_folder` renders the model card, creates the repository (and branch), then uploads the
folder in one commit with :meth:`huggingface_hub.HfApi.upload_folder`. A commit is all or nothing,
and files the Hub already has are not sent again, so a failed push can simply be retried.

Not uploaded (:data:`DEFAULT_IGNORE_PATTERNS`): ``checkpoints/`` (full training states with
optimizer moments and RNG states: several times the model's size, and only useful to resume a run
on the machine that made them), temporary and partial files, Python caches and OS clutter.
Everything else goes up: the pipeline and its code, both networks, ``samples.png``,
``loss_curves.png``, ``samples/``, ``logs/`` (JSON logs, TensorBoard event files) and
``eval_results.json``.

The token comes from the ``token`` argument, else ``HF_TOKEN``, else the login cache (resolved by
huggingface_hub); it is never written to the card, the folder, a log or an error message. The
endpoint is huggingface_hub's (``HF_ENDPOINT``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Optional, Sequence

from .cards import CARD_FILENAME, render_model_card

__all__ = ["DEFAULT_IGNORE_PATTERNS", "PushError", "cli_card", "cli_push", "layout_problems", "push_folder", "retry_command"]

DEFAULT_IGNORE_PATTERNS: tuple[str, ...] = (
    "checkpoints/*",
    "*.tmp",
    "*.partial",
    "*.incomplete",
    "*.lock",
    "*.pyc",
    "__pycache__/*",
    "*/__pycache__/*",
    ".ipynb_checkpoints/*",
    "*/.ipynb_checkpoints/*",
    ".DS_Store",
    "*/.DS_Store",
)


class PushError(RuntimeError):
    """A push to the Hub failed; the message says what happened and the command to retry.

    Attributes:
        status_code: the HTTP status the Hub answered, or None (unreachable, offline mode).
        stage: what the push was doing ("creating the repository", "creating the branch ...", "uploading ...").
        retry: the ``hfgen push ...`` command that retries the push.
    """

    def __init__(self, message: str, *, status_code: Optional[int] = None, stage: str = "", retry: str = ""):
        super().__init__(message)
        self.status_code, self.stage, self.retry = status_code, stage, retry


def retry_command(
    folder,
    repo_id: str,
    *,
    private: Optional[bool] = None,
    revision: Optional[str] = None,
    commit_message: Optional[str] = None,
    create_card: bool = True,
) -> str:
    """The ``hfgen push`` command line that repeats a push (never with a token in it)."""
    parts = ["hfgen", "push", os.fspath(folder), repo_id]
    if private:
        parts.append("--private")
    if revision:
        parts += ["--revision", revision]
    if commit_message:
        parts += ["--commit_message", commit_message]
    if not create_card:
        parts.append("--no_card")
    return shlex.join(parts)


def _secrets(token: Optional[str]) -> list[str]:
    """Token values that must never appear in a message."""
    found = [token] if isinstance(token, str) else []
    found.append(os.environ.get("HF_TOKEN"))
    try:
        from huggingface_hub import get_token

        found.append(get_token())
    except Exception:  # pragma: no cover - no token anywhere is fine
        pass
    return [t for t in found if t and len(t) >= 4]


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _is_unreachable(error: BaseException) -> bool:
    """Connection refused/reset, DNS failure, time-out (requests, httpx or the standard library)."""
    if isinstance(error, (ConnectionError, TimeoutError)):
        return True
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"TransportError", "RequestError", "ConnectError", "ConnectionError", "Timeout", "TimeoutException"})


def _to_push_error(error: BaseException, *, stage: str, endpoint: str, repo_id: str, retry: str,
                   secrets: Sequence[str]) -> PushError:
    """A PushError that explains `error` (raised while `stage`) and how to retry."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    target = f"the namespace '{repo_id.split('/')[0]}'" if "/" in repo_id else f"the repository '{repo_id}'"
    again = f"Retry with:\n    {retry}\nThe local folder was not changed."
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None) if isinstance(error, HfHubHTTPError) else None
    raw = str(getattr(error, "server_message", None) or error or "")
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    detail = _scrub(lines[-1] if lines else type(error).__name__, secrets)
    if isinstance(error, OfflineModeIsEnabled):
        message = (f"Cannot push to {repo_id}: huggingface_hub is in offline mode (HF_HUB_OFFLINE=1). "
                   f"Unset HF_HUB_OFFLINE (or set it to 0). {again}")
    elif status == 401:
        message = (
            f"Pushing to {repo_id} failed while {stage}: the Hub at {endpoint} answered HTTP 401 Unauthorized "
            f"({detail}). The token is missing, invalid or expired: set HF_TOKEN to a token with write access "
            f"or log in with `huggingface-cli login` (`hf auth login`), and check that it can write to "
            f"{target}. {again}"
        )
    elif status == 403:
        message = (
            f"Pushing to {repo_id} failed while {stage}: the Hub at {endpoint} answered HTTP 403 Forbidden "
            f"({detail}). The token has no write access to {target}: use a token with the 'write' role "
            f"(set HF_TOKEN or run `huggingface-cli login`), or push to a namespace you own. {again}"
        )
    elif status is not None and status >= 500:
        message = (
            f"Pushing to {repo_id} failed while {stage}: the Hub at {endpoint} answered HTTP {status} "
            f"({detail}), a server-side error that is usually temporary. A commit is all or nothing, so the "
            f"repository holds none of this push's files; files it already has are not sent again. {again}"
        )
    elif status is not None:
        message = f"Pushing to {repo_id} failed while {stage}: the Hub at {endpoint} answered HTTP {status} ({detail}). {again}"
    elif _is_unreachable(error):
        message = (
            f"Pushing to {repo_id} failed while {stage}: the Hub at {endpoint} is unreachable "
            f"({type(error).__name__}: {detail}). Check the network connection (and HF_ENDPOINT, if you "
            f"use a mirror or a local Hub). {again}"
        )
    else:
        message = f"Pushing to {repo_id} failed while {stage}: {type(error).__name__}: {detail}. {again}"
    return PushError(message, status_code=status, stage=stage, retry=retry)


def _default_commit_message(folder: Path) -> str:
    from hfgen import __version__

    try:
        from .cards import detect_family

        family = detect_family(folder).upper()
    except ValueError:
        family = "model"
    return f"Upload {family} pipeline with hfgen {__version__}"


def layout_problems(folder) -> list[str]:
    """Why an exported folder would not load from its Hub repository id without hfgen (empty: it would).

    From a repo id, diffusers fetches the pipeline file and its relative imports from the repository
    root, and transformers fetches a component's `auto_map` code from the root too: every such file
    must be there, and a component's modeling file must import nothing relatively (folders exported
    before hfgen 0.1's Hub layout had `configuration_<family>.py` beside it and nothing at the root).
    """
    import json

    from diffusers.utils.dynamic_modules_utils import get_relative_imports

    root = Path(folder)
    problems = []
    class_name = json.loads((root / "model_index.json").read_text(encoding="utf-8")).get("_class_name")
    if isinstance(class_name, list) and class_name:
        pipeline_file = root / f"{class_name[0]}.py"
        if not pipeline_file.is_file():
            problems.append(f"the pipeline file {pipeline_file.name} is not at the root")
        else:
            missing = [m for m in get_relative_imports(str(pipeline_file)) if not (root / f"{m}.py").is_file()]
            if missing:
                problems.append(f"{pipeline_file.name} imports {', '.join(f'{m}.py' for m in sorted(missing))}, not at the root")
    for config in sorted(root.glob("*/config.json")):
        if config.parent.name == "checkpoints":
            continue
        auto_map = json.loads(config.read_text(encoding="utf-8")).get("auto_map") or {}
        for reference in sorted(set(auto_map.values())):
            module = reference.split("--")[-1].rsplit(".", 1)[0]
            code = root / f"{module}.py"
            where = f"{config.parent.name}/config.json's auto_map names {module}.py"
            if not code.is_file():
                problems.append(f"{where}, which is not at the root")
            elif get_relative_imports(str(code)):
                problems.append(f"{where}, which imports {sorted(get_relative_imports(str(code)))} relatively")
    return list(dict.fromkeys(problems))


def push_folder(
    folder,
    repo_id: str,
    *,
    private: Optional[bool] = None,
    revision: Optional[str] = None,
    commit_message: Optional[str] = None,
    token: Optional[str] = None,
    create_card: bool = True,
    upgrade_layout: bool = False,
) -> str:
    """Uploads an exported folder to the Hub repository ``repo_id``; returns the commit URL.

    The card (``README.md``) is rendered when ``create_card`` is True or the folder has none; it is
    written to the folder once the repository exists, and restored if the push then fails, so a
    failed push leaves the folder as it was. ``checkpoints/`` and temporary files are not uploaded
    (:data:`DEFAULT_IGNORE_PATTERNS`).

    Args:
        folder: the exported folder (``model_index.json`` at its root).
        repo_id: ``"namespace/name"`` (or ``"name"`` for the token's user).
        private: visibility of a new repository (None: the Hub's default); an existing one keeps its own.
        revision: the branch to commit to (created from ``main`` if missing); default ``main``.
        commit_message: default ``"Upload GAN pipeline with hfgen <version>"``.
        token: a Hub token; default ``HF_TOKEN`` or the login cache.
        create_card: re-render the card even if the folder has a README.md.
        upgrade_layout: rewrite a folder in an older export layout in place first (:func:`upgrade_folder`);
            without it, such a folder is refused (it would not load from the repository id).

    Raises:
        PushError: the Hub was unreachable or refused (401, 403, 5xx, ...); the message says how to retry.
        ValueError: ``folder`` is not an exported folder, or its logs/results cannot be read.
    """
    from huggingface_hub import HfApi, constants

    folder_path = Path(folder)
    if not (folder_path / "model_index.json").is_file():
        raise ValueError(f"{folder_path} has no model_index.json: export a pipeline there first (training does by default).")
    problems = layout_problems(folder_path)
    if problems and upgrade_layout:
        from .export import upgrade_folder

        upgrade_folder(folder_path)
        problems = layout_problems(folder_path)
    if problems:
        raise ValueError(
            f"{folder_path} is in an older export layout that would not load from the repository id "
            f"(DiffusionPipeline.from_pretrained({repo_id!r}, trust_remote_code=True)): {'; '.join(problems)}. "
            f"Rewrite it in place first, then push: `hfgen push {os.fspath(folder)} {repo_id} --upgrade_layout` "
            "(or `hfgen.hub.upgrade_folder(folder)`); logs, card and samples stay."
        )
    retry = retry_command(folder, repo_id, private=private, revision=revision, commit_message=commit_message,
                          create_card=create_card)
    secrets = _secrets(token)
    api = HfApi(token=token)
    endpoint = api.endpoint or constants.ENDPOINT
    readme = folder_path / CARD_FILENAME
    previous = readme.read_bytes() if readme.is_file() else None
    card_text = None
    if create_card or previous is None:
        card_text = str(render_model_card(folder_path, repo_id=repo_id))  # local errors before any request
    message = commit_message or _default_commit_message(folder_path)
    wrote_card = False
    stage = "creating the repository"
    try:
        if constants.HF_HUB_OFFLINE:
            from huggingface_hub.errors import OfflineModeIsEnabled

            raise OfflineModeIsEnabled("offline mode is on")
        url = api.create_repo(repo_id, private=private, exist_ok=True)
        full_id = getattr(url, "repo_id", None) or repo_id
        if card_text is not None:
            if full_id != repo_id:
                card_text = str(render_model_card(folder_path, repo_id=full_id))
            data = card_text.encode("utf-8")
            if data != previous:
                tmp = readme.with_name(CARD_FILENAME + ".tmp")
                tmp.write_bytes(data)
                os.replace(tmp, readme)
                wrote_card = True
        if revision and revision != constants.DEFAULT_REVISION and not revision.startswith("refs/"):
            stage = f"creating the branch {revision!r}"
            api.create_branch(full_id, branch=revision, exist_ok=True)
        stage = "uploading the files (commit)"
        info = api.upload_folder(
            folder_path=folder_path,
            repo_id=full_id,
            revision=revision,
            commit_message=message,
            ignore_patterns=list(DEFAULT_IGNORE_PATTERNS),
        )
    except Exception as error:
        if wrote_card:
            if previous is None:
                readme.unlink(missing_ok=True)
            else:
                readme.write_bytes(previous)
        raise _to_push_error(error, stage=stage, endpoint=endpoint, repo_id=repo_id, retry=retry, secrets=secrets) from None
    return str(info.commit_url)


# ----------------------------------------------------------------------------------- CLI


def cli_push(argv: Optional[Sequence[str]] = None) -> int:
    """``hfgen push DIR REPO_ID [--private] [--revision BRANCH] [--commit_message MSG] [--no_card] [--space SPACE_ID]``."""
    parser = argparse.ArgumentParser(
        prog="hfgen push",
        description="Upload an exported folder to the Hugging Face Hub (token: HF_TOKEN or `huggingface-cli login`; "
                    "checkpoints/ is not uploaded).",
    )
    parser.add_argument("folder", help="The exported folder (model_index.json at its root).")
    parser.add_argument("repo_id", help="namespace/name of the model repository (created if missing).")
    parser.add_argument("--private", action="store_const", const=True, default=None, help="Create the repository private.")
    parser.add_argument("--revision", default=None, help="Branch to commit to (created if missing; default main).")
    parser.add_argument("--commit_message", default=None, help="Commit message.")
    parser.add_argument("--no_card", action="store_true", help="Keep the folder's README.md (rendered only if missing).")
    parser.add_argument("--upgrade_layout", action="store_true",
                        help="Rewrite a folder exported by an older hfgen in the current layout (in place) before pushing.")
    parser.add_argument("--space", default=None, metavar="SPACE_ID",
                        help="Also create/update a Gradio Space (namespace/name) that serves the model (see `hfgen space`).")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        url = push_folder(args.folder, args.repo_id, private=args.private, revision=args.revision,
                          commit_message=args.commit_message, create_card=not args.no_card,
                          upgrade_layout=args.upgrade_layout)
    except (PushError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(url)
    if args.space:  # the demo page, once the model it loads is on the Hub
        from hfgen.app.space import push_space

        try:
            print(push_space(args.folder, args.space, args.repo_id, private=args.private))
        except (PushError, ValueError) as error:
            print(f"error: the model was pushed, but the Space was not: {error}", file=sys.stderr)
            return 1
    return 0


def cli_card(argv: Optional[Sequence[str]] = None) -> int:
    """``hfgen card DIR [--repo_id ID] [--license LICENSE]``: (re)writes DIR/README.md."""
    parser = argparse.ArgumentParser(prog="hfgen card", description="Render the model card (README.md) of an exported folder.")
    parser.add_argument("folder", help="The exported folder (model_index.json at its root).")
    parser.add_argument("--repo_id", default=None, help="Hub repository the card is for (used in the usage snippets).")
    parser.add_argument("--license", default="apache-2.0", help="Hub license id (default apache-2.0).")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    from .cards import write_model_card

    try:
        path = write_model_card(args.folder, repo_id=args.repo_id, license=args.license)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(os.path.abspath(path))
    return 0
