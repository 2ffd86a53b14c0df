"""The real `huggingface_hub` client against the stdlib fake Hub in `hfgen.hub.testing` (no network)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

huggingface_hub = pytest.importorskip("huggingface_hub")
from huggingface_hub import HfApi, ModelCard, constants, hf_hub_download, snapshot_download  # noqa: E402
from huggingface_hub.errors import (  # noqa: E402
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from hfgen.hub.testing import LocalHubServer, git_blob_oid, patch_huggingface_hub  # noqa: E402

REPO = "test-user/tiny-gan"
BINARY = bytes(range(256)) * 4 + b"\x00\xff\x00"
VALID_CARD = "---\nlicense: apache-2.0\ntags:\n- gan\n- hfgen\n---\n\n# Tiny GAN\n"
BROKEN_CARD = "---\nlicense: [apache-2.0\ntags: {gan\n---\n\n# Broken\n"


@pytest.fixture
def hub(monkeypatch, tmp_path):
    with LocalHubServer() as server:
        patch_huggingface_hub(monkeypatch, server, tmp_path / "hf_home")
        yield server


@pytest.fixture
def api(hub):
    return HfApi(endpoint=hub.url, token=hub.token)


@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / "export"
    (root / "generator").mkdir(parents=True)
    (root / "config.json").write_text('{"latent_dim": 8}\n')
    (root / "README.md").write_text(VALID_CARD)
    (root / "generator" / "weights.bin").write_bytes(BINARY)
    (root / "generator" / "config.json").write_text('{"hidden": 16}\n')
    return root


def _local_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def pushed(api, folder):
    api.create_repo(REPO, private=False, exist_ok=True)
    first = api.upload_folder(folder_path=folder, repo_id=REPO, commit_message="first")
    (folder / "config.json").write_text('{"latent_dim": 16}\n')
    second = api.upload_folder(folder_path=folder, repo_id=REPO, commit_message="second")
    return first, second


def test_env_and_constants_point_at_the_fake(hub):
    assert os.environ["HF_ENDPOINT"] == hub.url and constants.ENDPOINT == hub.url
    assert huggingface_hub.hf_api.api.endpoint == hub.url
    assert HfApi().whoami()["name"] == "test-user"  # env route: endpoint + HF_TOKEN


def test_whoami_and_bad_token(api, hub):
    assert api.whoami()["name"] == hub.username
    with pytest.raises(HfHubHTTPError) as exc:
        HfApi(endpoint=hub.url, token="hf_wrong").whoami()
    assert exc.value.response.status_code == 401
    assert ("GET", "/api/whoami-v2", 401) in hub.requests


def test_create_repo_conflict_and_exist_ok(api, hub):
    url = api.create_repo(REPO)
    assert url.repo_id == REPO
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_repo(REPO)
    assert exc.value.response.status_code == 409
    api.create_repo(REPO, exist_ok=True)  # no raise
    assert set(hub.files(REPO)) == {".gitattributes"}
    with pytest.raises(HfHubHTTPError) as exc:
        HfApi(endpoint=hub.url, token="hf_wrong").create_repo("test-user/other")
    assert exc.value.response.status_code == 401
    assert "test-user/other" not in hub.repos


def test_upload_folder_two_commits(api, hub, folder, pushed):
    first, second = pushed
    assert len(first.oid) == 40 and len(second.oid) == 40 and first.oid != second.oid
    assert hub.commits(REPO)[:2] == [second.oid, first.oid]
    stored = hub.files(REPO)
    assert stored.pop(".gitattributes")
    assert stored == _local_files(folder)
    assert stored["config.json"] == b'{"latent_dim": 16}\n'
    # regular upload mode: contents went inline in the commit, never to an LFS/xet endpoint
    paths = {path for _, path, _ in hub.requests}
    assert f"/api/models/{REPO}/preupload/main" in paths and f"/api/models/{REPO}/commit/main" in paths
    assert not any("lfs" in p or "xet" in p for p in paths)
    # preupload returns the remote oids, so the client re-sends only the modified file the second time
    assert sorted(hub.commit(REPO, first.oid).operations) == sorted(("file", p) for p in _local_files(folder))
    assert hub.commit(REPO).operations == [("file", "config.json")]
    commit_log = api.list_repo_commits(REPO)
    assert [c.title for c in commit_log] == ["second", "first", "initial commit"]


def test_model_info_and_listing(api, hub, folder, pushed):
    info = api.model_info(REPO)
    expected = sorted([".gitattributes", *_local_files(folder)])
    assert info.sha == pushed[1].oid and info.private is False
    assert sorted(s.rfilename for s in info.siblings) == expected
    old = api.model_info(REPO, revision=pushed[0].oid)
    assert old.sha == pushed[0].oid
    assert sorted(api.list_repo_files(REPO)) == expected
    top = {e.path: type(e).__name__ for e in api.list_repo_tree(REPO)}
    assert top["generator"] == "RepoFolder" and "generator/weights.bin" not in top
    sub = {e.path: e for e in api.list_repo_tree(REPO, path_in_repo="generator")}
    assert sub["generator/weights.bin"].size == len(BINARY)
    assert sub["generator/weights.bin"].blob_id == git_blob_oid(BINARY)
    infos = api.get_paths_info(REPO, ["config.json", "generator", "missing.txt"])
    assert [i.path for i in infos] == ["config.json", "generator"]
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("test-user/does-not-exist")
    with pytest.raises(RevisionNotFoundError):
        api.model_info(REPO, revision="nope")


def test_snapshot_download_roundtrip(hub, folder, pushed, tmp_path):
    path = snapshot_download(REPO, cache_dir=tmp_path / "cache")
    got = _local_files(Path(path))
    assert got.pop(".gitattributes")
    assert got == _local_files(folder)
    assert Path(path).name == pushed[1].oid
    local = snapshot_download(REPO, local_dir=tmp_path / "local", revision=pushed[0].oid)
    assert (Path(local) / "config.json").read_bytes() == b'{"latent_dim": 8}\n'


def test_branch_upload_and_hf_hub_download(api, hub, folder, pushed, tmp_path):
    api.create_branch(REPO, branch="dev")
    (folder / "generator" / "weights.bin").write_bytes(BINARY[::-1])
    dev = api.upload_folder(folder_path=folder, repo_id=REPO, commit_message="dev weights", revision="dev")
    assert hub.branches(REPO)["dev"] == dev.oid
    assert hub.files(REPO)["generator/weights.bin"] == BINARY  # main untouched
    got = hf_hub_download(REPO, "generator/weights.bin", revision="dev", cache_dir=tmp_path / "c")
    assert Path(got).read_bytes() == BINARY[::-1]
    assert Path(got).parent.parent.name == dev.oid
    main = hf_hub_download(REPO, "generator/weights.bin", cache_dir=tmp_path / "c", endpoint=hub.url)
    assert Path(main).read_bytes() == BINARY
    assert {b.name for b in api.list_repo_refs(REPO).branches} == {"main", "dev"}
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_branch(REPO, branch="dev")
    assert exc.value.response.status_code == 409
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download(REPO, "nope.txt", cache_dir=tmp_path / "c")
    with pytest.raises(RevisionNotFoundError):
        api.upload_folder(folder_path=folder, repo_id=REPO, commit_message="x", revision="no-such-branch")


def test_fail_next_commit_then_retry(api, hub, folder):
    api.create_repo(REPO, exist_ok=True)
    hub.fail_next_commits = 1
    with pytest.raises(HfHubHTTPError) as exc:
        api.upload_folder(folder_path=folder, repo_id=REPO, commit_message="boom")
    assert exc.value.response.status_code == 500
    assert ("POST", f"/api/models/{REPO}/commit/main", 500) in hub.requests
    assert set(hub.files(REPO)) == {".gitattributes"}
    info = api.upload_folder(folder_path=folder, repo_id=REPO, commit_message="retry")
    assert hub.commits(REPO)[0] == info.oid and hub.fail_next_commits == 0
    assert hub.files(REPO)["generator/weights.bin"] == BINARY


def test_private_repo_needs_token(api, hub, folder, tmp_path):
    hub.seed_repo("test-user/secret", {"a.txt": b"hi"}, private=True)
    assert api.model_info("test-user/secret").private is True
    anonymous = HfApi(endpoint=hub.url, token=False)
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info("test-user/secret")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("test-user/secret", "a.txt", token=False, cache_dir=tmp_path / "c")
    assert Path(hf_hub_download("test-user/secret", "a.txt", cache_dir=tmp_path / "c")).read_bytes() == b"hi"


def test_unreachable_hub(api, hub, tmp_path):
    hub.seed_repo(REPO, {"a.txt": "x"})
    hub.stop()
    with pytest.raises(Exception) as exc:
        api.model_info(REPO)
    assert not isinstance(exc.value, HfHubHTTPError)  # a connection error, not an HTTP answer
    hub.start()  # same port, same state
    assert api.model_info(REPO).id == REPO


def test_model_card_validate(hub):
    ModelCard(VALID_CARD).validate()  # uses constants.ENDPOINT, no token
    # `ModelCard` parses and re-serializes its YAML, so only semantic errors can reach the server from it
    with pytest.raises(ValueError, match="license"):
        ModelCard("---\nlicense: 42\n---\n# Card\n").validate()
    assert hub.requests[-1] == ("POST", "/api/validate-yaml", 400)


def test_validate_yaml_endpoint_rejects_broken_yaml(hub):
    session = huggingface_hub.utils.get_session()
    url = f"{hub.url}/api/validate-yaml"
    ok = session.post(url, json={"content": VALID_CARD, "repoType": "model"})
    assert ok.status_code == 200 and ok.json() == {"errors": [], "warnings": []}
    bad = session.post(url, json={"content": BROKEN_CARD, "repoType": "model"})
    assert bad.status_code == 400 and "YAML" in bad.json()["errors"][0]["message"]
    text = session.post(url, json={"content": BROKEN_CARD, "repoType": "model"}, headers={"Accept": "text/plain"})
    assert text.status_code == 400 and text.text.startswith("Invalid YAML")
    none = session.post(url, json={"content": "# no metadata\n", "repoType": "model"})
    assert none.status_code == 200 and none.json()["warnings"]


def test_yaml_fallback_without_pyyaml(monkeypatch):
    from hfgen.hub import testing

    monkeypatch.setitem(sys.modules, "yaml", None)  # `import yaml` now raises ImportError
    assert testing._yaml_error("license: mit\ntags:\n- a\n- 'b: c'\nx: [1, 2]\n") is None
    for broken in ("license: [mit\n", "tags: {a\n", "\tlicense: mit\n", "just text\n", "a: 'open\n"):
        assert testing._yaml_error(broken), broken


def test_upload_rejects_broken_readme(api, hub, tmp_path):
    api.create_repo(REPO, exist_ok=True)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "README.md").write_text(BROKEN_CARD)
    with pytest.raises(ValueError, match="Invalid metadata"):
        api.upload_folder(folder_path=tmp_path / "bad", repo_id=REPO, commit_message="bad card")
