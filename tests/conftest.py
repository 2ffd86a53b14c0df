"""Test setup: everything runs offline, with a private Hugging Face cache.

`HF_HUB_OFFLINE=1` makes any accidental Hub access fail at once (instead of retrying for ~24 s),
and a temporary `HF_HOME` keeps diffusers'/transformers' dynamic-module caches of one test run
away from the user's and from other runs. Both are set before any test imports huggingface_hub.
"""

import os
import shutil
import sys
import tempfile
import textwrap

import pytest

_HF_HOME = tempfile.mkdtemp(prefix="hfgen-tests-hf-home-")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_unconfigure(config):
    """Removes the run's private HF_HOME (it held only this run's caches), so no run leaves it behind."""
    shutil.rmtree(_HF_HOME, ignore_errors=True)

# Python code that makes `import hfgen` fail: run first in "fresh process without hfgen" tests.
BLOCK_HFGEN = textwrap.dedent(
    """
    import sys
    class _BlockHfgen:
        def find_spec(self, name, path=None, target=None):
            if name == "hfgen" or name.startswith("hfgen."):
                raise ImportError("hfgen is deliberately not importable in this process")
    sys.meta_path.insert(0, _BlockHfgen())
    try:
        import hfgen  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("hfgen is importable: the test would prove nothing")
    """
)


@pytest.fixture
def run_without_hfgen(tmp_path):
    """Runs a Python snippet in a fresh process where hfgen cannot be imported; returns stdout."""
    import subprocess

    def run(code: str, timeout: int = 240) -> str:
        script = tmp_path / "no_hfgen_script.py"
        script.write_text(BLOCK_HFGEN + "\n" + textwrap.dedent(code))
        proc = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            cwd=str(tmp_path),  # not the repo root: nothing importable from there
        )
        if proc.returncode != 0:
            raise AssertionError(f"subprocess failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    return run


def kill_launched_workers(marker: str) -> None:
    """Kills every process whose command line holds `marker` (e.g. a run's output folder).

    torchrun starts each worker in a session of its own, so killing the launcher's process group
    leaves a hung worker alive (holding memory and a port) after a timed-out test.
    """
    import subprocess

    subprocess.run(["pkill", "-9", "-f", marker], check=False)


def launch_two_processes(cmd: list, env: dict, out, timeout: int = 400) -> tuple:
    """Runs a two-process `accelerate launch` command line and checks what every such test needs.

    The launcher gets a session of its own; on a timeout it and its torchrun workers are killed (an
    orphaned worker would hold the port). Checked: exit status 0, a world size of 2, and equal weights
    on both ranks at the end (each rank writes the sha256 of its own state dicts to logs/summary.json),
    and, unless the command turns the trackers off, that the default tracker wrote its event files
    (end_training destroys the process group: nothing collective may follow it).
    Returns (stdout, stderr, summary).
    """
    import json
    import os
    import signal
    import subprocess
    from pathlib import Path

    out = Path(out)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        kill_launched_workers(str(out))
        proc.communicate()
        raise
    assert proc.returncode == 0, stdout[-2000:] + stderr[-4000:]
    summary = json.loads((out / "logs" / "summary.json").read_text())
    assert summary["world_size"] == 2
    digests = summary["weights_sha256_per_process"]
    assert len(digests) == 2 and digests[0] == digests[1]
    assert "Default process group" not in stderr
    if "--report_to" not in cmd:
        assert list((out / "logs").rglob("events.out.tfevents.*")), "the default tracker (tensorboard) was not on"
    return stdout, stderr, summary


@pytest.fixture
def isolated_datasets_cache(monkeypatch, tmp_path_factory):
    """A private, offline `datasets` cache for one test: never the network, never the user's cache."""
    home = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(home / "datasets"))


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests: the machine's cores are shared."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
