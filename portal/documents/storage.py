"""Where files live: receipts, decision documents and residents' uploads.

One small base class with a stable ``code`` and ``check_config()`` (shown on ``/readyz``
as "storage"), and the embedded default beside it: ``local``, a private folder
(``STORAGE_PATH``, by default ``instance/files``). Keys are chosen by the storage, never
by a user: a short category folder and a random name, so a resident's file name never
reaches the file system and no key can point outside the folder. ``s3`` keeps them in an
S3-compatible bucket (``STORAGE_URL``) for several app servers and workers.
"""

from __future__ import annotations

import mimetypes
import os
import re
import secrets
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from flask import Flask, current_app

from portal import health
from portal.config import ConfigError

SETTING = "STORAGE_PATH"
URL_SETTING = "STORAGE_URL"
EXTENSION_KEY = "madoguchi.storage"
RANDOM_NAME_BYTES = 24  # 192 bits: names cannot be guessed or collide
_CATEGORY = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_KEY = re.compile(r"(?P<category>[a-z0-9][a-z0-9_-]{0,39})/[A-Za-z0-9_-]{32}(?:\.[a-z0-9]{1,8})?")


def extension_for(content_type: str) -> str:
    """The file extension a key gets for ``content_type`` (``.bin`` when unknown)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    extension = mimetypes.guess_extension(media_type) or ".bin"
    return extension if re.fullmatch(r"\.[a-z0-9]{1,8}", extension) else ".bin"


def new_key(category: str, content_type: str) -> str:
    """A fresh random key in ``category``, such as ``receipts/3q2…x9.pdf``."""
    if not _CATEGORY.fullmatch(category):
        raise ValueError(
            "a storage name is a category such as 'receipts' or 'uploads' "
            "(lower-case letters, digits, - and _), never a user's file name"
        )
    return f"{category}/{secrets.token_urlsafe(RANDOM_NAME_BYTES)}{extension_for(content_type)}"


def checked_key(key: str) -> str:
    """Return ``key`` if the storage could have made it; ValueError otherwise."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError("not a storage key")
    return key


class Storage(ABC):
    """Keeps files under keys it chooses; files are written whole or not at all."""

    code: ClassVar[str]

    @abstractmethod
    def check_config(self) -> health.CheckResult:
        """Say whether files can be stored and read, without personal data in the detail."""

    @abstractmethod
    def put(self, name: str, data: bytes, content_type: str) -> str:
        """Store ``data`` under a new random key in the category ``name``; return the key.

        ``name`` says what kind of file this is (``receipts``, ``uploads``); it becomes
        the key's folder. The caller keeps the key and the content type in its records.
        """

    @abstractmethod
    def get(self, key: str) -> bytes:
        """Return the file stored under ``key``; FileNotFoundError when there is none."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether a file is stored under ``key``."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the file under ``key``; removing a missing file is not an error."""


class LocalStorage(Storage):
    """A private folder on this machine: the embedded default."""

    code = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = self.root / checked_key(key)
        # The key's pattern already rules out "..", "/" and "\\"; resolving the path
        # also refuses a category folder replaced by a symbolic link to elsewhere.
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise ValueError("not a storage key")
        return path

    def check_config(self) -> health.CheckResult:
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            return health.CheckResult(False, f"{self.root} cannot be created: {error.strerror}")
        if not os.access(self.root, os.R_OK | os.W_OK | os.X_OK):
            return health.CheckResult(False, f"{self.root} is not readable and writable")
        return health.CheckResult(True, f"local folder {self.root}")

    def put(self, name: str, data: bytes, content_type: str) -> str:
        key = new_key(name, content_type)
        path = self._path(key)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Write beside the target and rename: a reader sees the whole file or none.
        temporary = path.with_name(f".{path.name}.partial")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_folder(path.parent)
        return key

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` survive a power cut."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class S3Storage(Storage):
    """An S3-compatible bucket (AWS S3, MinIO, Ceph...): for several app servers and workers.

    Each key lives under ``prefix`` in ``bucket``. S3 writes an object whole or not at
    all, so no temporary name is needed. Credentials come from boto3's usual chain
    (environment, instance role, shared config), never from the portal's settings.
    """

    code = "s3"

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _object(self, key: str) -> str:
        return self.prefix + checked_key(key)

    def check_config(self) -> health.CheckResult:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "error")
            return health.CheckResult(False, f"bucket {self.bucket} answers {code}")
        except BotoCoreError as error:
            return health.CheckResult(
                False, f"bucket {self.bucket} unreachable: {type(error).__name__}"
            )
        return health.CheckResult(True, f"S3 bucket {self.bucket}")

    def put(self, name: str, data: bytes, content_type: str) -> str:
        key = new_key(name, content_type)
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._object(key),
            Body=data,
            ContentType=content_type,
            ServerSideEncryption="AES256",
        )
        return key

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._object(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from None
            raise
        return answer["Body"].read()  # type: ignore[no-any-return]

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._object(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object(key))


def parse_storage_url(url: str) -> tuple[str, str, dict[str, str]]:
    """``s3://bucket/prefix?endpoint=…&region=…`` as (bucket, prefix, options).

    ConfigError for anything else. The prefix, if any, ends with ``/``.
    """
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.username or parts.password:
        raise ConfigError(
            "STORAGE_URL must look like s3://bucket/prefix?endpoint=https://…&region=…; "
            "credentials come from the environment (AWS_ACCESS_KEY_ID…), never the URL"
        )
    options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    unknown = sorted(set(options) - {"endpoint", "region"})
    if unknown:
        raise ConfigError(f"STORAGE_URL: unknown option {', '.join(unknown)}")
    endpoint = options.get("endpoint", "")
    if endpoint and urlsplit(endpoint).scheme not in ("https", "http"):
        raise ConfigError("STORAGE_URL: endpoint must be an http(s) URL")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else "", options


def build_storage(app: Flask) -> Storage:
    """The S3 bucket ``STORAGE_URL`` names, else the local folder ``STORAGE_PATH``
    (default ``instance/files``)."""
    url = str(app.config.get(URL_SETTING) or os.environ.get(URL_SETTING) or "").strip()
    if url:
        import boto3

        bucket, prefix, options = parse_storage_url(url)
        client = boto3.client(
            "s3",
            endpoint_url=options.get("endpoint") or None,
            region_name=options.get("region") or None,
        )
        return S3Storage(client, bucket, prefix)
    raw = app.config.get(SETTING, os.environ.get(SETTING))
    configured = str(raw).strip() if raw is not None else ""
    root = Path(configured) if configured else Path(app.instance_path) / "files"
    return LocalStorage(root.resolve())


def init_app(app: Flask) -> None:
    """Build the storage and add its readiness check."""
    storage = build_storage(app)
    app.extensions[EXTENSION_KEY] = storage
    health.register_readiness_check(app, "storage", storage.check_config)


def file_storage() -> Storage:
    """The storage of the current app."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
