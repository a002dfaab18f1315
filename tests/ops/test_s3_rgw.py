"""Storage through django-storages ``S3Storage``: the same tests against a REAL S3 server and against moto.

- ``rgw``: Ceph RADOS Gateway on 127.0.0.1:7480 (``scripts/ceph-rgw.sh``, path-style addressing, a custom
  endpoint); skipped cleanly when it does not answer. Override: ``TEST_S3_ENDPOINT``, ``TEST_S3_ACCESS_KEY``,
  ``TEST_S3_SECRET_KEY``.
- ``moto``: moto's in-process S3 mock, so CI always runs the S3 code path.

Each walks the product's own doors: an upload through the API lands as an object under its content address,
the worker reads it back (``media_source``), the original and a generated report download through the API,
a signed URL from the storage serves the bytes over HTTP, and deleting the asset or the report removes the
object.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.files.storage import default_storage
from storages.backends.s3 import S3Storage

from analysis import services
from analysis.models import AnalysisJob, MediaAsset
from reports import tasks as report_tasks
from reports.models import Report
from tests.platform.conftest import API, image_bytes
from tests.reports.fabricate import analysis_dict

ROOT = Path(__file__).resolve().parents[2]
RGW = os.environ.get("TEST_S3_ENDPOINT", "http://127.0.0.1:7480")
RGW_KEYS = (os.environ.get("TEST_S3_ACCESS_KEY", "deepfaketest"), os.environ.get("TEST_S3_SECRET_KEY",
                                                                                   "deepfaketestsecret"))


def _rgw_answers() -> bool:
    try:
        with urllib.request.urlopen(RGW, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class S3:
    """One bucket on one server, the Django storage settings that point at it, and a boto3 client to look."""

    def __init__(self, endpoint: str | None, keys: tuple[str, str]) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = f"deepfake-test-{uuid.uuid4().hex[:12]}"
        self.endpoint = endpoint
        self.options = {
            "bucket_name": self.bucket, "endpoint_url": endpoint, "region_name": "us-east-1",
            "access_key": keys[0], "secret_key": keys[1], "addressing_style": "path", "default_acl": None,
            "querystring_auth": True, "file_overwrite": True,
        }
        self.client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=keys[0],
                                   aws_secret_access_key=keys[1], config=Config(s3={"addressing_style": "path"}))
        self.client.create_bucket(Bucket=self.bucket)

    def stored(self) -> set[str]:
        listed = self.client.list_objects_v2(Bucket=self.bucket)
        return {item["Key"] for item in listed.get("Contents", [])}

    def body(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def drop(self) -> None:
        for key in self.stored():
            self.client.delete_object(Bucket=self.bucket, Key=key)
        self.client.delete_bucket(Bucket=self.bucket)


@pytest.fixture(params=["moto", "rgw"])
def s3(request: pytest.FixtureRequest, settings: Any, _private_media: None) -> Iterator[S3]:
    if request.param == "rgw":
        if not _rgw_answers():
            pytest.skip(f"no S3 server at {RGW} (start one with scripts/ceph-rgw.sh)")
        server = S3(RGW, RGW_KEYS)
        context: Any = None
    else:
        from moto import mock_aws

        context = mock_aws()
        context.start()
        server = S3(None, ("testing", "testing"))
    # the settings change resets django's storages handler and default_storage
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage",
                                                          "OPTIONS": server.options}}
    try:
        yield server
    finally:
        try:
            server.drop()
        finally:
            if context is not None:
                context.stop()


def _http_get(url: str, moto: bool) -> bytes:
    if moto:  # moto answers requests made through `requests` (its responses mock), not urllib
        import requests

        response = requests.get(url, timeout=10)
        response.raise_for_status()
        return bytes(response.content)
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


@pytest.mark.django_db
def test_an_upload_is_stored_read_downloaded_signed_and_deleted_in_s3(s3: S3, alice: Any, submit: Any,
                                                                       django_capture_on_commit_callbacks: Any) -> None:
    assert isinstance(default_storage, S3Storage) and default_storage.bucket_name == s3.bucket
    data = image_bytes("PNG", size=(96, 64), seed=5)
    response = submit(alice, data)
    assert response.status_code == 201, response.json()
    job = AnalysisJob.objects.get(pk=response.json()["id"])
    key = job.file_path
    assert key.startswith("media/") and key in s3.stored()
    assert s3.body(key) == data  # the object holds exactly the uploaded bytes

    # the worker's side: no local path on S3, so the engine gets the bytes
    assert services.media_source(job) == data

    # the original through the API (streamed from S3)
    download = alice.client.get(f"{API}/files/{job.asset_id}/download")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == data

    # a signed URL, fetched over HTTP without credentials
    url = default_storage.url(key)
    assert "Signature" in url and s3.bucket in url
    assert _http_get(url, moto=s3.endpoint is None) == data
    if s3.endpoint:  # path-style on the custom endpoint
        assert url.startswith(f"{s3.endpoint}/{s3.bucket}/")

    # the same bytes again: nothing new stored
    again = submit(alice, data)
    assert again.status_code == 201 and s3.stored() == {key}

    # deletion: the jobs, then the asset; the object goes once the transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        AnalysisJob.objects.filter(asset_id=job.asset_id).delete()
        MediaAsset.objects.filter(pk=job.asset_id).delete()
    assert key not in s3.stored()


@pytest.mark.django_db
def test_a_report_with_the_analysed_image_is_stored_in_s3_downloaded_and_deleted(
        s3: S3, alice: Any, submit: Any, django_capture_on_commit_callbacks: Any) -> None:
    response = submit(alice, image_bytes("PNG", size=(128, 96), seed=6))
    job_id = response.json()["id"]
    services.claim_job(job_id)
    services.complete_job(job_id, analysis_dict("image", "deepfake", 0.9))

    with mock.patch("reports.tasks.generate_report.apply_async"), django_capture_on_commit_callbacks(execute=True):
        created = alice.client.post(f"{API}/reports", {"job_ids": [job_id], "format": "pdf"}, format="json")
    assert created.status_code == 202, created.json()
    report_id = created.json()["id"]
    assert report_tasks.generate_report(report_id) == "completed"  # the PDF reads the image from S3
    report = Report.objects.get(pk=report_id)
    assert report.storage_name in s3.stored()

    download = alice.client.get(f"{API}/reports/{report_id}/download")
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    assert download.content == s3.body(report.storage_name)

    with django_capture_on_commit_callbacks(execute=True):
        report.delete()
    assert report.storage_name not in s3.stored()


def test_the_settings_choose_s3_storage_from_the_environment() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "AWS_STORAGE_BUCKET_NAME": "media",
           "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:7480", "AWS_S3_ADDRESSING_STYLE": "path",
           "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    code = ("import django, json; django.setup(); from django.conf import settings; "
            "from django.core.files.storage import default_storage as d; "
            "print(json.dumps([d.__class__.__name__, d.bucket_name, d.endpoint_url, "
            "d.addressing_style, d.querystring_auth]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["S3Storage", "media", "http://127.0.0.1:7480", "path",
                                                               True]


@pytest.mark.django_db
def test_downloads_redirect_to_a_short_lived_signed_url_when_asked(s3: S3, alice: Any, bob: Any, submit: Any,
                                                                    settings: Any) -> None:
    settings.STORAGE_SIGNED_REDIRECTS = True
    data = image_bytes("PNG", size=(80, 60), seed=8)
    job_id = submit(alice, data, name="evidence photo.png").json()["id"]
    asset_id = str(AnalysisJob.objects.get(pk=job_id).asset_id)
    response = alice.client.get(f"{API}/files/{asset_id}/download")
    assert response.status_code == 302
    url = response["Location"]
    assert "Signature" in url and "response-content-disposition" in url.lower()
    assert _http_get(url, moto=s3.endpoint is None) == data
    assert bob.client.get(f"{API}/files/{asset_id}/download").status_code == 404  # the visibility rule first

    services.claim_job(job_id)
    services.complete_job(job_id, analysis_dict("image", "authentic", 0.8))
    with mock.patch("reports.tasks.generate_report.apply_async"):
        report_id = alice.client.post(f"{API}/reports", {"job_ids": [job_id], "format": "json"},
                                      format="json").json()["id"]
    report_tasks.generate_report(report_id)
    response = alice.client.get(f"{API}/reports/{report_id}/download")
    assert response.status_code == 302
    assert _http_get(response["Location"], moto=s3.endpoint is None).startswith(b"{")


@pytest.mark.django_db
def test_without_s3_downloads_stream_even_when_redirects_are_on(alice: Any, submit: Any, settings: Any) -> None:
    settings.STORAGE_SIGNED_REDIRECTS = True  # local files cannot be signed: stream them
    job_id = submit(alice, image_bytes("PNG", seed=9)).json()["id"]
    asset_id = str(AnalysisJob.objects.get(pk=job_id).asset_id)
    assert alice.client.get(f"{API}/files/{asset_id}/download").status_code == 200
