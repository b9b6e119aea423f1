"""S3-compatible storage: the same contract as the local folder, against moto's S3."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from portal import create_app
from portal.config import ConfigError
from portal.documents.storage import S3Storage, file_storage, parse_storage_url
from tests.conftest import app_config

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4
BUCKET = "madoguchi-files"


@pytest.fixture
def aws(monkeypatch):
    """A private, in-process S3 with test credentials (nothing leaves this machine)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "ap-northeast-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="ap-northeast-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
        )
        yield client


def test_a_file_round_trips_under_the_prefix_and_is_gone_after_delete(aws):
    storage = S3Storage(aws, BUCKET, "city/")
    key = storage.put("receipts", PDF, "application/pdf")
    assert key.startswith("receipts/") and key.endswith(".pdf")
    stored = aws.head_object(Bucket=BUCKET, Key=f"city/{key}")
    assert stored["ContentType"] == "application/pdf"
    assert stored["ServerSideEncryption"] == "AES256"
    assert storage.exists(key) and storage.get(key) == PDF
    storage.delete(key)
    assert not storage.exists(key)
    with pytest.raises(FileNotFoundError):
        storage.get(key)
    storage.delete(key)  # deleting twice is not an error


def test_keys_the_storage_did_not_make_are_refused(aws):
    storage = S3Storage(aws, BUCKET)
    for key in ("../secret", "receipts/../../x.pdf", "/etc/passwd", "receipts/short.pdf"):
        with pytest.raises(ValueError):
            storage.get(key)
        with pytest.raises(ValueError):
            storage.delete(key)


def test_check_config_says_whether_the_bucket_answers(aws):
    assert S3Storage(aws, BUCKET).check_config().ok
    missing = S3Storage(aws, "no-such-bucket").check_config()
    assert not missing.ok and "no-such-bucket" in missing.detail


def test_storage_url_chooses_the_bucket_and_its_options():
    assert parse_storage_url("s3://files") == ("files", "", {})
    assert parse_storage_url("s3://files/city/madoguchi/?region=ap-northeast-1") == (
        "files",
        "city/madoguchi/",
        {"region": "ap-northeast-1"},
    )
    for bad in (
        "https://files",
        "s3://key:secret@files",
        "s3://files?colour=red",
        "s3://files?endpoint=ftp://minio",
    ):
        with pytest.raises(ConfigError, match="STORAGE_URL"):
            parse_storage_url(bad)


def test_the_app_keeps_files_in_the_bucket_storage_url_names(aws, database_url, monkeypatch):
    monkeypatch.setenv("STORAGE_URL", f"s3://{BUCKET}/portal")
    app = create_app(app_config(database_url))
    with app.app_context():
        storage = file_storage()
        assert isinstance(storage, S3Storage)
        key = storage.put("uploads", b"x", "image/png")
    assert aws.get_object(Bucket=BUCKET, Key=f"portal/{key}")["Body"].read() == b"x"
    ready = app.test_client().get("/readyz").get_json()
    assert ready["checks"]["storage"]["ok"] is True
