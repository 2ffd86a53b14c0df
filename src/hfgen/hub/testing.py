"""A small in-process fake of the Hugging Face Hub HTTP API, for offline tests.

:class:`LocalHubServer` speaks the subset of the Hub HTTP API that the real
``huggingface_hub`` client (2.x) uses for: ``whoami``, ``create_repo`` /
``delete_repo``, ``upload_folder`` / ``upload_file`` / ``create_commit``
(preupload + NDJSON commit, always in "regular" mode: file contents travel
base64-encoded inside the commit, so no LFS or Xet is ever involved),
``create_branch`` / ``delete_branch`` / ``list_repo_refs`` / ``list_repo_commits``,
``model_info`` / ``repo_info``, ``list_repo_files`` / ``list_repo_tree`` /
``get_paths_info``, ``hf_hub_download`` / ``snapshot_download`` (``resolve``
with ``ETag``, ``X-Repo-Commit``, ``Content-Length`` and ``Range``), and
``ModelCard.validate`` (``/api/validate-yaml``). It uses only the standard
library (``http.server``), keeps everything in memory, and binds 127.0.0.1.

Errors mimic the Hub: JSON ``{"error": ...}`` bodies plus the ``X-Error-Code``
(``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``) and
``X-Error-Message`` headers the client maps to its exception classes.

Fault injection: set ``fail_next_commits = N`` to make the next N commit
requests answer HTTP 500; call :meth:`LocalHubServer.stop` to make the Hub
unreachable (``start()`` again rebinds the same port, state is kept).

Point the client at it with ``HF_ENDPOINT`` *and* by patching
``huggingface_hub.constants.ENDPOINT`` / ``HUGGINGFACE_CO_URL_TEMPLATE`` (both
are read at import time), or pass ``endpoint=hub.url`` explicitly. Set
``HF_HUB_DISABLE_XET`` (and ``constants.HF_HUB_DISABLE_XET = True``): with
``hf_xet`` installed, ``upload_folder`` otherwise takes a pipelined path that
retries failed commits on its own.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["LocalHubServer", "Repo", "Commit", "git_blob_oid", "patch_huggingface_hub"]

_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
_HEX = re.compile(r"[0-9a-f]{7,40}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_YAML_BLOCK = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")
_GITATTRIBUTES = b"".join(
    b"*.%s filter=lfs diff=lfs merge=lfs -text\n" % ext
    for ext in (b"bin", b"h5", b"msgpack", b"onnx", b"ckpt", b"pt", b"pth", b"safetensors", b"zip")
)
_NO_METADATA_WARNING = "empty or missing yaml metadata in repo card"


def git_blob_oid(data: bytes) -> str:
    """The git blob sha1 of ``data`` (what the Hub uses as oid / ETag of non-LFS files)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Commit:
    oid: str
    parents: list[str]
    title: str
    message: str
    files: dict[str, bytes]
    date: str
    author: str
    operations: list[tuple[str, str]] = field(default_factory=list)  # (NDJSON key, path) as sent


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    created_at: str = field(default_factory=_now)
    refs: dict[str, str] = field(default_factory=dict)  # branch (or refs/pr/N) -> commit oid
    commits: dict[str, Commit] = field(default_factory=dict)
    num_prs: int = 0

    def resolve(self, rev: str) -> Commit | None:
        if rev in self.refs:
            return self.commits[self.refs[rev]]
        if _HEX.fullmatch(rev):
            found = [c for oid, c in self.commits.items() if oid.startswith(rev)]
            if len(found) == 1:
                return found[0]
        return None

    def history(self, rev: str = "main") -> list[Commit]:
        out, commit = [], self.resolve(rev)
        while commit is not None:
            out.append(commit)
            commit = self.commits.get(commit.parents[0]) if commit.parents else None
        return out


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None, **extra):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, dict(headers or {})
        self.extra = extra  # additional fields of the JSON error body


class _Handler(BaseHTTPRequestHandler):
    server_version = "LocalHub/1.0"
    hub: LocalHubServer  # set on the per-server subclass

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        try:
            body = self._read_body()
            status, headers, payload = self.hub._handle(method, parts.path, parse_qs(parts.query), self.headers, body)
        except HubError as e:
            status, payload = e.status, {"error": e.message, **e.extra}
            headers = {"X-Error-Message": e.message, **e.headers}
            if e.code:
                headers["X-Error-Code"] = e.code
        except Exception as e:  # pragma: no cover - a bug in the fake: report it like the Hub would
            status, headers, payload = 500, {}, {"error": f"LocalHubServer internal error: {e!r}"}
        if isinstance(payload, (dict, list)):
            data, ctype = json.dumps(payload).encode(), "application/json; charset=utf-8"
        elif isinstance(payload, str):
            data, ctype = payload.encode(), "text/plain; charset=utf-8"
        else:
            data, ctype = payload, "application/octet-stream"
        self.hub._log(method, parts.path, status)  # before replying: the client may look right after
        self.send_response(status)
        headers.setdefault("Content-Type", ctype)
        headers.setdefault("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")


class LocalHubServer:
    """In-memory fake Hub. ``with LocalHubServer() as hub: HfApi(endpoint=hub.url, token=hub.token)``.

    Attributes:
        tokens: accepted bearer tokens (all belong to ``username``).
        username: the user every valid token authenticates as.
        orgs: extra namespaces the user may write to.
        fail_next_commits: the next N commit requests answer HTTP 500.
        requests: log of ``(method, path, status)`` for every request served (path without query string).
    """

    def __init__(self, tokens=("hf_test_token",), username: str = "test-user", orgs=()):
        self.tokens: set[str] = set(tokens)
        self.username = username
        self.orgs: set[str] = set(orgs)
        self.fail_next_commits = 0
        self.requests: list[tuple[str, str, int]] = []
        self._repos: dict[tuple[str, str], Repo] = {}
        self._lock = threading.RLock()
        self._counter = itertools.count()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    # ----------------------------------------------------------------- lifecycle
    @property
    def token(self) -> str:
        """One accepted token (handy for tests)."""
        return sorted(self.tokens)[0]

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("LocalHubServer is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> LocalHubServer:
        if self._server is not None:
            return self
        handler = type("Handler", (_Handler,), {"hub": self})
        server = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        server.daemon_threads = True
        self._server, self._port = server, server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="local-hub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            self._thread.join(timeout=5)

    def __enter__(self) -> LocalHubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------- introspection
    @property
    def repos(self) -> dict[str, Repo]:
        """Repos by URL-style id: ``"user/model"``, ``"datasets/user/ds"``, ``"spaces/user/app"``."""
        with self._lock:
            return {_URL_PREFIX[t] + rid: repo for (t, rid), repo in self._repos.items()}

    def repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        with self._lock:
            return self._repos[(repo_type, repo_id)]

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> dict[str, bytes]:
        with self._lock:
            commit = self.repo(repo_id, repo_type).resolve(revision)
            if commit is None:
                raise KeyError(f"unknown revision {revision!r} of {repo_id}")
            return dict(commit.files)

    def commits(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> list[str]:
        """Commit oids reachable from ``revision``, newest first."""
        with self._lock:
            return [c.oid for c in self.repo(repo_id, repo_type).history(revision)]

    def commit(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> Commit:
        """The commit ``revision`` points to (its ``operations`` list what the client sent)."""
        with self._lock:
            commit = self.repo(repo_id, repo_type).resolve(revision)
            if commit is None:
                raise KeyError(f"unknown revision {revision!r} of {repo_id}")
            return commit

    def branches(self, repo_id: str, repo_type: str = "model") -> dict[str, str]:
        with self._lock:
            return dict(self.repo(repo_id, repo_type).refs)

    def seed_repo(self, repo_id: str, files: dict[str, bytes | str] | None = None, *, private: bool = False,
                  repo_type: str = "model", revision: str = "main", message: str = "seed") -> str:
        """Create (if needed) a repo server-side and commit ``files`` to ``revision``; returns the commit oid."""
        with self._lock:
            repo = self._repos.get((repo_type, repo_id)) or self._new_repo(repo_type, repo_id, private)
            if revision not in repo.refs:
                repo.refs[revision] = repo.refs["main"]
            content = dict(repo.resolve(revision).files)
            content.update({p: d.encode() if isinstance(d, str) else bytes(d) for p, d in (files or {}).items()})
            return self._commit(repo, revision, content, message, "").oid

    def _log(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, path, status))

    # ------------------------------------------------------------------ helpers
    def _new_repo(self, repo_type: str, repo_id: str, private: bool) -> Repo:
        repo = Repo(repo_type, repo_id, private)
        self._repos[(repo_type, repo_id)] = repo
        repo.refs["main"] = ""
        self._commit(repo, "main", {".gitattributes": _GITATTRIBUTES}, "initial commit", "")
        return repo

    def _commit(self, repo: Repo, ref: str, files: dict[str, bytes], title: str, message: str,
                operations: list[tuple[str, str]] | None = None) -> Commit:
        parent = repo.refs.get(ref) or ""
        seed = f"{repo.repo_id}\n{parent}\n{title}\n{time.time_ns()}\n{next(self._counter)}\n"
        seed += "\n".join(f"{p} {git_blob_oid(d)}" for p, d in sorted(files.items()))
        oid = hashlib.sha1(seed.encode()).hexdigest()
        commit = Commit(oid, [parent] if parent else [], title, message, files, _now(), self.username,
                        list(operations or []))
        repo.commits[oid] = commit
        repo.refs[ref] = oid
        return commit

    def _auth(self, headers) -> str | None:
        value = headers.get("Authorization")
        if not value:
            return None
        token = value[7:].strip() if value.lower().startswith("bearer ") else value.strip()
        if token not in self.tokens:
            raise HubError(401, "Invalid credentials in Authorization header")
        return self.username

    def _repo_url(self, repo: Repo) -> str:
        return f"{self.url}/{_URL_PREFIX[repo.repo_type]}{repo.repo_id}"

    def _read_repo(self, repo_type: str, repo_id: str, user: str | None) -> Repo:
        repo = self._repos.get((repo_type, repo_id))
        visible = repo is not None and (not repo.private or self._owns(user, repo_id))
        if not visible:
            raise HubError(401 if user is None else 404, "Repository not found", "RepoNotFound")
        return repo

    def _write_repo(self, repo_type: str, repo_id: str, user: str | None) -> Repo:
        if user is None:
            raise HubError(401, "You must be authenticated to access this resource")
        repo = self._read_repo(repo_type, repo_id, user)
        if not self._owns(user, repo_id):
            raise HubError(403, f"You don't have the rights to write to {repo_id}")
        return repo

    def _owns(self, user: str | None, repo_id: str) -> bool:
        return user is not None and repo_id.split("/")[0] in {user, *self.orgs}

    def _revision(self, repo: Repo, rev: str) -> Commit:
        commit = repo.resolve(rev)
        if commit is None:
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return commit

    @staticmethod
    def _json(body: bytes) -> dict:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise HubError(400, "Invalid JSON body") from None
        if not isinstance(data, dict):
            raise HubError(400, "Expected a JSON object")
        return data

    # ------------------------------------------------------------------ routing
    def _handle(self, method: str, path: str, query: dict, headers, body: bytes):
        segs = [unquote(s) for s in path.strip("/").split("/")]
        with self._lock:
            if segs == ["api", "agent-harnesses"] and method == "GET":
                return 200, {}, {"standardEnvVars": [], "harnesses": {}}
            if segs == ["api", "validate-yaml"] and method == "POST":
                return self._validate_yaml(self._json(body), headers)
            user = self._auth(headers)
            if segs == ["api", "whoami-v2"] and method == "GET":
                return self._whoami(user)
            if segs[:2] == ["api", "repos"] and len(segs) == 3:
                if segs[2] == "create" and method == "POST":
                    return self._create_repo(self._json(body), user)
                if segs[2] == "delete" and method == "DELETE":
                    return self._delete_repo(self._json(body), user)
            if len(segs) >= 4 and segs[0] == "api" and segs[1] in _TYPES:
                return self._repo_api(method, _TYPES[segs[1]], f"{segs[2]}/{segs[3]}", segs[4:], query, body, user)
            repo_type = _TYPES.get(segs[0], "model") if segs[0] in ("datasets", "spaces") else "model"
            rest = segs[1:] if repo_type != "model" else segs
            if len(rest) >= 5 and rest[2] == "resolve" and method in ("GET", "HEAD"):
                return self._resolve(repo_type, f"{rest[0]}/{rest[1]}", rest[3], "/".join(rest[4:]), headers, user)
        raise HubError(404, f"Not Found: {method} {path}")

    def _repo_api(self, method, repo_type, repo_id, rest, query, body, user):
        action = rest[0] if rest else None
        if method == "GET" and action is None:
            return self._info(self._read_repo(repo_type, repo_id, user), "main", query)
        if method == "GET" and action == "revision" and len(rest) >= 2:
            return self._info(self._read_repo(repo_type, repo_id, user), "/".join(rest[1:]), query)
        if method == "GET" and action == "tree" and len(rest) >= 2:
            repo = self._read_repo(repo_type, repo_id, user)
            recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
            return 200, {}, self._tree(self._revision(repo, rest[1]), "/".join(rest[2:]), recursive)
        if method == "POST" and action == "paths-info" and len(rest) == 2:
            return self._paths_info(self._read_repo(repo_type, repo_id, user), rest[1], body)
        if method == "GET" and action == "refs":
            return self._refs(self._read_repo(repo_type, repo_id, user), query)
        if method == "GET" and action == "commits" and len(rest) == 2:
            repo = self._read_repo(repo_type, repo_id, user)
            self._revision(repo, rest[1])
            return 200, {}, [
                {"id": c.oid, "title": c.title, "message": c.message, "date": c.date,
                 "authors": [{"user": c.author, "avatar": ""}]}
                for c in repo.history(rest[1])
            ]
        if method == "POST" and action == "preupload" and len(rest) == 2:
            return self._preupload(self._write_repo(repo_type, repo_id, user), rest[1], query, self._json(body))
        if method == "POST" and action == "commit" and len(rest) == 2:
            return self._commit_api(self._write_repo(repo_type, repo_id, user), rest[1], query, body)
        if action == "branch" and len(rest) >= 2 and method in ("POST", "DELETE"):
            return self._branch(self._write_repo(repo_type, repo_id, user), method, "/".join(rest[1:]), body)
        if method == "PUT" and action == "settings":
            repo, data = self._write_repo(repo_type, repo_id, user), self._json(body)
            if "private" in data:
                repo.private = bool(data["private"])
            if "visibility" in data:
                repo.private = data["visibility"] != "public"
            return 200, {}, {"private": repo.private}
        raise HubError(404, f"Not Found: {method} /api/{repo_type}s/{repo_id}/{'/'.join(rest)}")

    # ---------------------------------------------------------------- endpoints
    def _whoami(self, user):
        if user is None:
            raise HubError(401, "Invalid username or password.")
        return 200, {}, {
            "type": "user", "id": hashlib.md5(user.encode()).hexdigest()[:24], "name": user, "fullname": user,
            "email": f"{user}@example.com", "emailVerified": True, "canPay": False, "isPro": False,
            "avatarUrl": "", "orgs": [{"type": "org", "name": o} for o in sorted(self.orgs)],
            "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "write"}},
        }

    def _create_repo(self, data, user):
        if user is None:
            raise HubError(401, "You must be authenticated to access this resource")
        name, namespace = data.get("name") or "", data.get("organization") or user
        repo_type = data.get("type") or "model"
        if repo_type not in _URL_PREFIX:
            raise HubError(400, f"Invalid repo type: {repo_type}")
        if not _NAME.fullmatch(name) or "--" in name or ".." in name or name.endswith((".git", ".")):
            raise HubError(400, f"Invalid repo name: {name!r}")
        repo_id = f"{namespace}/{name}"
        if not self._owns(user, repo_id):
            raise HubError(403, f"You don't have the rights to create a {repo_type} under the namespace {namespace!r}")
        existing = self._repos.get((repo_type, repo_id))
        if existing is not None:
            raise HubError(409, f"You already created this {repo_type} repo", url=self._repo_url(existing))
        private = bool(data.get("private")) or data.get("visibility") in ("private", "protected")
        repo = self._new_repo(repo_type, repo_id, private)
        repo_hash = hashlib.md5(repo_id.encode()).hexdigest()[:24]
        return 200, {}, {"url": self._repo_url(repo), "name": repo_id, "id": repo_hash}

    def _delete_repo(self, data, user):
        name, namespace = data.get("name") or "", data.get("organization") or user
        repo_type = data.get("type") or "model"
        repo_id = f"{namespace}/{name}"
        self._write_repo(repo_type, repo_id, user)
        del self._repos[(repo_type, repo_id)]
        return 200, {}, {}

    def _info(self, repo: Repo, rev: str, query):
        commit = self._revision(repo, rev)
        blobs = query.get("blobs", ["false"])[0].lower() in ("1", "true")
        siblings = []
        for p, d in sorted(commit.files.items()):
            siblings.append({"rfilename": p, **({"size": len(d), "blobId": git_blob_oid(d)} if blobs else {})})
        info = {
            "_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24], "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0], "sha": commit.oid, "lastModified": commit.date,
            "createdAt": repo.created_at, "private": repo.private, "gated": False, "disabled": False,
            "downloads": 0, "likes": 0, "tags": [], "siblings": siblings,
            "usedStorage": sum(len(d) for d in commit.files.values()),
        }
        if repo.repo_type == "model":
            info["modelId"] = repo.repo_id
        return 200, {}, info

    @staticmethod
    def _file_entry(path: str, data: bytes) -> dict:
        return {"type": "file", "oid": git_blob_oid(data), "size": len(data), "path": path}

    @staticmethod
    def _dir_entry(path: str, files: dict[str, bytes]) -> dict:
        inner = "\n".join(f"{p} {git_blob_oid(d)}" for p, d in sorted(files.items()) if p.startswith(path + "/"))
        return {"type": "directory", "oid": hashlib.sha1(inner.encode()).hexdigest(), "size": 0, "path": path}

    def _tree(self, commit: Commit, base: str, recursive: bool) -> list[dict]:
        base = base.strip("/")
        prefix = f"{base}/" if base else ""
        dirs, files = set(), []
        for p in sorted(commit.files):
            if not p.startswith(prefix):
                continue
            parts = p[len(prefix):].split("/")
            if recursive:
                dirs.update(prefix + "/".join(parts[:i]) for i in range(1, len(parts)))
                files.append(p)
            elif len(parts) == 1:
                files.append(p)
            else:
                dirs.add(prefix + parts[0])
        if base and not files and not dirs:
            raise HubError(404, f"Entry not found: {base}", "EntryNotFound")
        return [self._dir_entry(d, commit.files) for d in sorted(dirs)] + [
            self._file_entry(p, commit.files[p]) for p in files
        ]

    def _paths_info(self, repo: Repo, rev: str, body: bytes):
        commit = self._revision(repo, rev)
        try:
            data = json.loads(body)
        except ValueError:
            data = parse_qs(body.decode())
        paths = data.get("paths") or []
        out = []
        for p in [paths] if isinstance(paths, str) else paths:
            p = p.strip("/")
            if p in commit.files:
                out.append(self._file_entry(p, commit.files[p]))
            elif any(f.startswith(p + "/") for f in commit.files):
                out.append(self._dir_entry(p, commit.files))
        return 200, {}, out

    def _refs(self, repo: Repo, query):
        def ref(name, oid):
            full = name if name.startswith("refs/") else f"refs/heads/{name}"
            return {"name": name, "ref": full, "targetCommit": oid}

        out = {
            "branches": [ref(n, o) for n, o in repo.refs.items() if not n.startswith("refs/")],
            "converts": [], "tags": [],
        }
        if query.get("include_prs"):
            out["pullRequests"] = [ref(n, o) for n, o in repo.refs.items() if n.startswith("refs/pr/")]
        return 200, {}, out

    def _preupload(self, repo: Repo, rev: str, query, data):
        if "create_pr" in query:
            commit = self._revision(repo, rev)
        elif rev not in repo.refs:
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        else:
            commit = repo.resolve(rev)
        files = data.get("files")
        if not isinstance(files, list):
            raise HubError(400, "Expected a list of files")
        out = []
        for f in files:
            entry = {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
            if f["path"] in commit.files:
                entry["oid"] = git_blob_oid(commit.files[f["path"]])
            out.append(entry)
        return 200, {}, {"files": out, "commitOid": commit.oid}

    def _commit_api(self, repo: Repo, rev: str, query, body: bytes):
        try:
            lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        except ValueError:
            raise HubError(400, "Invalid NDJSON body") from None
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "The first line of the commit payload must be a header")
        if self.fail_next_commits > 0:
            self.fail_next_commits -= 1
            raise HubError(500, "Internal Error - We're working hard to fix this as soon as possible!")
        header = lines[0].get("value") or {}
        if "create_pr" in query:
            base = self._revision(repo, rev)
            repo.num_prs += 1
            ref = f"refs/pr/{repo.num_prs}"
            repo.refs[ref] = base.oid
            pr_url = f"{self._repo_url(repo)}/discussions/{repo.num_prs}"
        elif rev not in repo.refs:
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        else:
            ref, pr_url = rev, None
        head = repo.resolve(ref)
        parent = header.get("parentCommit")
        if parent and not head.oid.startswith(parent):
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files, operations = dict(head.files), []
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value") or {}
            path = str(value.get("path", "")).strip("/")
            operations.append((key, path))
            if key == "file":
                content = value.get("content", "")
                files[path] = base64.b64decode(content) if value.get("encoding") == "base64" else content.encode()
            elif key == "deletedFile":
                if files.pop(path, None) is None:
                    raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
            elif key == "deletedFolder":
                doomed = [p for p in files if p.startswith(path + "/")]
                if not doomed:
                    raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                for p in doomed:
                    del files[p]
            elif key in ("lfsFile", "deletedEntries"):
                raise HubError(400, f"LocalHubServer does not support {key!r} (preupload answers 'regular')")
            else:
                raise HubError(400, f"Unknown commit operation key: {key!r}")
        commit = self._commit(repo, ref, files, header.get("summary") or "", header.get("description") or "",
                              operations)
        return 200, {}, {
            "success": True, "commitOid": commit.oid, "commitUrl": f"{self._repo_url(repo)}/commit/{commit.oid}",
            "hookOutput": "", "pullRequestUrl": pr_url,
        }

    def _branch(self, repo: Repo, method: str, branch: str, body: bytes):
        if method == "DELETE":
            if branch == "main":
                raise HubError(403, "Cannot delete the default branch")
            if repo.refs.pop(branch, None) is None:
                raise HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
            return 200, {}, {}
        if branch in repo.refs:
            raise HubError(409, "Reference already exists")
        start = self._json(body).get("startingPoint") or "main"
        repo.refs[branch] = self._revision(repo, start).oid
        return 200, {}, {}

    def _resolve(self, repo_type, repo_id, rev, path, headers, user):
        repo = self._read_repo(repo_type, repo_id, user)
        commit = self._revision(repo, rev)
        if path not in commit.files:
            raise HubError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": commit.oid})
        data = commit.files[path]
        out = {"ETag": f'"{git_blob_oid(data)}"', "X-Repo-Commit": commit.oid, "Accept-Ranges": "bytes",
               "Content-Type": "application/octet-stream"}
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", headers.get("Range", "").strip())
        if match and (match[1] or match[2]):
            size = len(data)
            start, end = (int(match[1]), int(match[2] or size - 1)) if match[1] else (size - int(match[2]), size - 1)
            end = min(end, size - 1)
            if start >= size or start > end:
                raise HubError(416, "Requested range not satisfiable", headers={"Content-Range": f"bytes */{size}"})
            out["Content-Range"] = f"bytes {start}-{end}/{size}"
            return 206, out, data[start:end + 1]
        return 200, out, data

    def _validate_yaml(self, data, headers):
        content = data.get("content")
        if not isinstance(content, str):
            raise HubError(400, "Missing 'content' in request body")
        match = _YAML_BLOCK.search(content)
        warning = [{"type": "warning", "message": _NO_METADATA_WARNING}]
        if match is None:
            return 200, {}, {"errors": [], "warnings": warning}
        error = _yaml_error(match.group(2))
        if error is None:
            return 200, {}, {"errors": [], "warnings": [] if match.group(2).strip() else warning}
        if "text/plain" in headers.get("Accept", ""):
            return 400, {}, error
        return 400, {}, {"error": error, "errors": [{"type": "error", "message": error}], "warnings": []}


def patch_huggingface_hub(monkeypatch, hub: LocalHubServer, home, token: str | None = None) -> None:
    """Point the installed ``huggingface_hub`` at ``hub`` for one test, with ``home`` as ``HF_HOME``.

    ``monkeypatch`` is pytest's fixture (anything with ``setenv``/``delenv``/``setattr``). Setting the
    environment is not enough: ``huggingface_hub.constants`` reads ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``,
    ``HF_HUB_DISABLE_XET``, ``HF_HOME`` & co. once at import, ``HUGGINGFACE_CO_URL_TEMPLATE`` (used by
    ``hf_hub_url``/``hf_hub_download``) is derived from the import-time endpoint, and the module-level
    helpers (``huggingface_hub.upload_folder``, ``create_repo``, ...) are bound to ``hf_api.api``, an
    ``HfApi`` whose ``endpoint`` was fixed at import. All of those are patched here.
    """
    import os
    from urllib.parse import urlsplit

    from huggingface_hub import constants, hf_api

    home = os.fspath(home)
    token = token if token is not None else hub.token
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_OIDC_RESOURCE", "HUGGING_FACE_HUB_TOKEN",
                "HUGGINGFACE_CO_STAGING", "HF_HUB_ENABLE_HF_TRANSFER", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE",
                "HF_TOKEN_PATH", "HF_XET_CACHE", "HF_ASSETS_CACHE"):
        monkeypatch.delenv(var, raising=False)
    env = {
        "HF_ENDPOINT": hub.url, "HF_TOKEN": token, "HF_HOME": home, "HF_HUB_OFFLINE": "0",
        "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_UPDATE_CHECK": "1", "HF_HUB_DISABLE_IMPLICIT_TOKEN": "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    hub_cache = os.path.join(home, "hub")
    consts = {
        "ENDPOINT": hub.url,
        "HUGGINGFACE_CO_URL_TEMPLATE": hub.url + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_URL_HOSTS": constants.HF_URL_HOSTS | {urlsplit(hub.url).hostname},
        "HF_HUB_OFFLINE": False, "HF_HUB_DISABLE_XET": True, "HF_HUB_DISABLE_TELEMETRY": True,
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": False, "HF_HOME": home,
        "HF_HUB_CACHE": hub_cache, "HUGGINGFACE_HUB_CACHE": hub_cache,
        "HF_ASSETS_CACHE": os.path.join(home, "assets"), "HF_XET_CACHE": os.path.join(home, "xet"),
        "HF_TOKEN_PATH": os.path.join(home, "token"), "HF_STORED_TOKENS_PATH": os.path.join(home, "stored_tokens"),
        "AGENT_HARNESSES_PATH": os.path.join(home, ".agent_harnesses.json"),
    }
    for name, value in consts.items():
        if hasattr(constants, name):
            monkeypatch.setattr(constants, name, value)
    monkeypatch.setattr(hf_api.api, "endpoint", hub.url)


def _metadata_error(meta: dict) -> str | None:
    """A few of the Hub's type checks on well-known metadata keys."""
    for key in ("license", "pipeline_tag", "library_name", "license_name", "license_link"):
        if key in meta and not isinstance(meta[key], str):
            return f'Invalid metadata: "{key}" must be a string'
    for key in ("tags", "language", "datasets", "metrics", "base_model"):
        value = meta.get(key)
        if value is not None and not isinstance(value, str) and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            return f'Invalid metadata: "{key}" must be a string or a list of strings'
    return None


def _yaml_error(text: str) -> str | None:
    """``None`` if ``text`` is a valid YAML mapping (or empty), else an error message.

    Uses PyYAML when it is importable (plus a few type checks on well-known keys); otherwise a small
    structural check (no tabs in indentation, top-level ``key: value`` lines, balanced brackets/quotes).
    """
    try:
        import yaml  # optional: the server itself only needs the standard library
    except ImportError:
        yaml = None
    if yaml is not None:
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as e:
            return f"Invalid YAML in metadata: {e}".replace("\n", " ")
        if loaded is not None and not isinstance(loaded, dict):
            return "Invalid metadata: the YAML front matter must be a mapping"
        return _metadata_error(loaded or {})
    seen_key = False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if "\t" in line[: len(line) - len(line.lstrip())]:
            return f"Invalid YAML in metadata: tab indentation on line {number}"
        if line == line.lstrip():  # top level: `key: value`, or `- item` of the previous key's list
            if re.match(r"""^(?:[^\s#:'"\[\]{}-][^:]*|'[^']*'|"[^"]*"):(\s|$)""", line):
                seen_key = True
            elif not (seen_key and re.match(r"^-(\s|$)", line)):
                return f"Invalid YAML in metadata: expected 'key: value' on line {number}"
        unquoted = re.sub(r"""'[^']*'|"[^"]*"|#.*$""", "", stripped)
        if unquoted.count("'") % 2 or unquoted.count('"') % 2:
            return f"Invalid YAML in metadata: unterminated quote on line {number}"
        if unquoted.count("[") != unquoted.count("]") or unquoted.count("{") != unquoted.count("}"):
            return f"Invalid YAML in metadata: unbalanced brackets on line {number}"
    return None
