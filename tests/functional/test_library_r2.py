"""The library on an S3-compatible store (Cloudflare R2...) by configuration.

A second moto server on loopback plays the store: its own endpoint, bucket and keys (read from
SSM, as a deployed stage does), region "auto". The tests prove the library's objects (clean
uploads, thumbnails, share copies, export zips) land there and nowhere else, that presigned URLs
point there and are SigV4, and that copying a generated image (in the images bucket, S3) into
it works across the two stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from chalicelib.aws import client
from tests.functional.export_helpers import create, download_zip, export_of, run_exports_worker, take_messages
from tests.functional.helpers import call
from tests.functional.library_helpers import make_images
from tests.functional.test_library_uploads import png, upload_image

BUCKET = "r2-library"
KEY_ID, SECRET_KEY = "r2-key-id-from-ssm", "r2-secret-from-ssm"


@dataclass
class Store:
    endpoint: str
    s3: Any

    def keys(self, prefix: str = "") -> list[str]:
        found = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        return [item["Key"] for item in found]


@pytest.fixture()
def r2(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    import boto3

    from chalicelib import bootstrap
    from chalicelib.local.moto_server import SerializedMotoServer

    server = SerializedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server.port}"
    ssm = client("ssm")
    for name, value in (("access-key-id", KEY_ID), ("secret-access-key", SECRET_KEY)):
        ssm.put_parameter(Name=f"/imagegen/test/library-s3-{name}", Value=value, Type="SecureString", Overwrite=True)
    monkeypatch.setenv("LIBRARY_S3_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("LIBRARY_BUCKET", BUCKET)
    monkeypatch.setenv("LIBRARY_S3_REGION", "auto")
    monkeypatch.setenv("LIBRARY_S3_ACCESS_KEY_ID_PARAM", "/imagegen/test/library-s3-access-key-id")
    monkeypatch.setenv("LIBRARY_S3_SECRET_ACCESS_KEY_PARAM", "/imagegen/test/library-s3-secret-access-key")
    bootstrap.reset()
    s3 = boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET_KEY
    )
    s3.create_bucket(Bucket=BUCKET)
    try:
        yield Store(endpoint, s3)
    finally:
        monkeypatch.undo()
        bootstrap.reset()  # the library store and the secrets read above are forgotten
        server.stop()


def _signed_for_r2(url: str, store: Store) -> None:
    """A SigV4 presigned GET on the configured endpoint, in region "auto", with the SSM key."""
    assert url.startswith(f"{store.endpoint}/{BUCKET}/"), url
    query = parse_qs(urlparse(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Credential"][0].startswith(f"{KEY_ID}/") and "/auto/s3/aws4_request" in query["X-Amz-Credential"][0]


def _default_bucket_keys(prefix: str) -> list[str]:
    from chalicelib.settings import get_settings

    found = client("s3").list_objects_v2(Bucket=get_settings().images_bucket, Prefix=prefix).get("Contents", [])
    return [item["Key"] for item in found]


def test_uploads_keep_their_clean_image_and_thumbnail_in_the_store(api: Any, make_tenant: Any, r2: Store) -> None:
    tenant = make_tenant()
    status, body = upload_image(api, tenant, png())
    assert status == 201, body
    image = body["image"]
    _signed_for_r2(image["url"], r2)
    _signed_for_r2(image["thumbnail_url"], r2)
    fetched = requests.get(image["url"], timeout=10)
    assert fetched.status_code == 200 and fetched.content[:4] == b"\x89PNG"
    assert requests.get(image["thumbnail_url"], timeout=10).content[:3] == b"\xff\xd8\xff"
    stored = r2.keys(f"images/{tenant.workspace_id}/")
    assert sorted(k.rsplit("/", 1)[1] for k in stored) == ["original.png", "thumb.jpg"]
    assert all(image["id"] in key for key in stored)
    # nothing of it stays in the images bucket (the raw upload was staged there, then deleted)
    assert _default_bucket_keys(f"images/{tenant.workspace_id}/") == []


def test_a_share_copies_a_generated_image_across_stores_and_revoking_deletes_the_copies(
    api: Any, make_tenant: Any, r2: Store
) -> None:
    tenant = make_tenant()
    (image,) = make_images(api, tenant, "a generated picture")
    original_url = call(api, "GET", f"/v1/images/{image}", tenant)[1]["image"]["url"]
    assert not original_url.startswith(r2.endpoint)  # generated images stay in the images bucket
    original = requests.get(original_url, timeout=10).content
    target = {"type": "image", "id": image}
    status, body, _ = call(api, "POST", "/v1/shares", tenant, {"target": target, "permission": "download"})
    assert status == 201, body
    share = body["share"]
    status, shown, _ = call(api, "GET", "/s/" + share["url"].rsplit("/s/", 1)[1])
    assert status == 200, shown
    (item,) = shown["items"]
    for url in (item["download_url"], item["preview_url"]):
        _signed_for_r2(url, r2)
    assert requests.get(item["download_url"], timeout=10).content == original
    copies = r2.keys("images/shared/")
    assert len([k for k in copies if k.endswith(".png")]) >= 1
    assert call(api, "DELETE", f"/v1/shares/{share['id']}", tenant)[0] == 204
    assert [k for k in r2.keys("images/shared/") if k in copies] == []
    assert requests.get(item["download_url"], timeout=10).status_code in (403, 404)  # gone (S3 says 403 without List)


def test_exports_are_written_to_the_store_and_served_from_it(api: Any, make_tenant: Any, r2: Store) -> None:
    tenant = make_tenant()
    (generated,) = make_images(api, tenant, "exported to r2")
    uploaded = upload_image(api, tenant, png())[1]["image"]["id"]
    made = create(api, tenant, {"image_ids": [generated, uploaded]})
    (message,) = take_messages(made["id"])
    assert run_exports_worker([message]) == {"batchItemFailures": []}
    done = export_of(api, tenant, made["id"])
    assert done["status"] == "ready", done
    _signed_for_r2(done["url"], r2)
    assert r2.keys("exports/") == [f"exports/{tenant.workspace_id}/{made['id']}.zip"]
    assert _default_bucket_keys("exports/") == []
    names = download_zip(done["url"]).namelist()
    assert names == [f"{generated}.png", "Showcase shot.png", "manifest.json"]


def test_the_lifecycle_command_puts_the_expiry_rules_on_the_store(r2: Store, capsys: pytest.CaptureFixture[str]) -> None:
    from chalicelib import ops

    assert ops.main(["library-lifecycle"]) == 0
    rules = {rule["ID"]: rule for rule in r2.s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    assert rules["shared-copies-expire"]["Filter"]["Prefix"] == "images/shared/"
    assert rules["exports-expire"]["Filter"]["Prefix"] == "exports/"
    assert rules["shared-copies-expire"]["Expiration"]["Days"] == 2
    assert BUCKET in capsys.readouterr().out
