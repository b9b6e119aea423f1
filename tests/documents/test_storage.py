"""Local storage: files round-trip under random keys, and no key reaches outside the folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal import create_app
from portal.documents.storage import LocalStorage, checked_key, file_storage
from tests.conftest import app_config

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


def test_a_file_round_trips_and_is_gone_after_delete(storage):
    key = storage.put("receipts", PDF, "application/pdf")
    assert key.startswith("receipts/") and key.endswith(".pdf")
    assert storage.exists(key)
    assert storage.get(key) == PDF
    storage.delete(key)
    assert not storage.exists(key)
    with pytest.raises(FileNotFoundError):
        storage.get(key)
    storage.delete(key)  # deleting twice is not an error


def test_files_get_random_private_names_and_no_partial_file_is_left(storage):
    keys = {storage.put("uploads", b"same bytes", "image/jpeg") for _ in range(20)}
    assert len(keys) == 20
    folder = storage.root / "uploads"
    names = sorted(path.name for path in folder.iterdir())
    assert names == sorted(key.split("/", 1)[1] for key in keys)
    assert all(name.endswith(".jpg") and len(name) == 36 for name in names)
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_write_leaves_nothing_behind(storage):
    with pytest.raises(TypeError):
        storage.put("uploads", "not bytes", "text/plain")  # type: ignore[arg-type]
    assert list((storage.root / "uploads").iterdir()) == []


@pytest.mark.parametrize(
    "name", ["写真.jpg", "../receipts", "receipt.pdf", "Receipts", "", "a/b", "x" * 41]
)
def test_a_user_file_name_is_never_used_as_the_name(storage, name):
    with pytest.raises(ValueError, match="never a user's file name"):
        storage.put(name, PDF, "application/pdf")
    assert not storage.root.exists() or list(storage.root.rglob("*")) == []


@pytest.mark.parametrize(
    "key",
    [
        "../secret.pdf",
        "receipts/../../etc/passwd",
        "/etc/passwd",
        "receipts/" + "a" * 31 + "/.pdf",
        "receipts\\..\\..\\x",
        "receipts/%2e%2e%2fpasswd",
        "receipts/" + "a" * 32 + ".pdf\x00",
        "receipts/." + "a" * 31,
        "",
    ],
)
def test_keys_that_could_leave_the_folder_are_refused(storage, key):
    for operation in (storage.get, storage.exists, storage.delete):
        with pytest.raises(ValueError, match="not a storage key"):
            operation(key)


def test_a_category_folder_linked_elsewhere_is_refused(storage, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / ("a" * 32 + ".pdf")
    secret.write_bytes(b"secret")
    storage.root.mkdir()
    (storage.root / "receipts").symlink_to(outside)
    with pytest.raises(ValueError, match="not a storage key"):
        storage.get("receipts/" + "a" * 32 + ".pdf")


@given(key=st.text(max_size=80))
def test_no_text_at_all_addresses_a_file_outside_the_folder(tmp_path_factory, key):
    root = tmp_path_factory.mktemp("files")
    storage = LocalStorage(root)
    try:
        checked_key(key)
    except ValueError:
        with pytest.raises(ValueError):
            storage.exists(key)
        return
    assert (root / key).resolve().is_relative_to(root.resolve())


def test_check_config_reports_a_folder_that_cannot_be_made(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert LocalStorage(tmp_path / "files").check_config().ok
    result = LocalStorage(blocker / "files").check_config()
    assert not result.ok and "cannot be created" in result.detail


def test_the_app_stores_files_in_storage_path(app, monkeypatch, tmp_path, database_url):
    with app.app_context():
        assert file_storage().root == Path(app.instance_path).resolve() / "files"
    monkeypatch.setenv("STORAGE_PATH", os.fspath(tmp_path / "elsewhere"))
    configured = create_app(app_config(database_url))
    with configured.app_context():
        key = file_storage().put("receipts", PDF, "application/pdf")
    assert (tmp_path / "elsewhere" / key).read_bytes() == PDF
