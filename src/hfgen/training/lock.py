"""One training run per output folder: a lock file holding the owner's PID and host.

Two runs writing into one `--output_dir` would interleave checkpoints (`latest` would load the
other run's state) and export one run's weights beside the other's settings. The main process
takes `<output_dir>/.hfgen-train.lock` when training starts and removes it when training ends; a
second run fails at once naming the holder. A lock left by a dead process on this host (kill -9,
power loss) is taken over with a warning; one from another host cannot be checked and is reported.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from typing import Optional

from .args import ConfigurationError
from .state import pid_is_alive

logger = logging.getLogger("hfgen.training")

LOCK_NAME = ".hfgen-train.lock"  # "*.lock" is in the push's ignore patterns: never uploaded


class OutputDirLockedError(ConfigurationError):
    """Another live training run holds the output folder."""


def _describe(holder: dict) -> str:
    started = holder.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if isinstance(started, (int, float)) else "?"
    return f"PID {holder.get('pid', '?')} on host {holder.get('host', '?')} (started {when})"


class RunLock:
    """The lock of one output folder; `acquire()` / `release()` (also a context manager)."""

    def __init__(self, output_dir: str):
        self.output_dir = output_dir
        self.path = os.path.join(output_dir, LOCK_NAME)
        self.held = False

    def _read(self) -> Optional[dict]:
        try:
            with open(self.path, encoding="utf-8") as f:
                holder = json.load(f)
            return holder if isinstance(holder, dict) else {}
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}  # empty or cut short: its writer died between creating and filling it

    def acquire(self) -> None:
        """Creates the lock file (O_EXCL) or raises `OutputDirLockedError` naming the live holder."""
        os.makedirs(self.output_dir, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        for _ in range(3):  # a stale lock removed by us may be recreated by a racing run: look again
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            except FileExistsError:
                holder = self._read()
                if holder is None:  # released between our open and our read
                    continue
                same_host = holder.get("host") == me["host"]
                pid = holder.get("pid")
                if holder and not same_host:
                    raise OutputDirLockedError(
                        f"--output_dir {self.output_dir} is in use by another training run: {_describe(holder)}. Wait for it "
                        f"to finish, or pass another --output_dir. If that run is gone, delete {self.path}."
                    )
                if holder and isinstance(pid, int) and pid_is_alive(pid):
                    raise OutputDirLockedError(
                        f"--output_dir {self.output_dir} is in use by another training run: {_describe(holder)}. Wait for it "
                        "to finish (or stop it), or pass another --output_dir: two runs in one folder would mix their "
                        "checkpoints and exports."
                    )
                logger.warning(
                    "Taking over the stale lock %s of a training run that is no longer running (%s).",
                    self.path, _describe(holder) if holder else "unreadable lock file",
                )
                try:
                    os.remove(self.path)
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(me, f)
            self.held = True
            return
        raise OutputDirLockedError(f"Could not take the lock {self.path}: another run keeps taking it; pass another --output_dir.")

    def release(self) -> None:
        """Removes the lock file if this process holds it."""
        if not self.held:
            return
        self.held = False
        holder = self._read()
        if holder and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
            os.remove(self.path)

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
