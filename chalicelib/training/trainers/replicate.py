"""The hosted trainer seam: Replicate's trainings API, over httpx (already in the zip: the OpenAI SDK's).

Wire format (https://replicate.com/docs/reference/http#trainings.create):
- `POST /v1/models/{owner}/{name}/versions/{version_id}/trainings` with
  `{"destination": "<owner>/<model>", "input": {"input_images": <zip URL>, "steps": n}}` → 201 and
  the training `{"id", "status": "starting", ...}`;
- `GET /v1/trainings/{id}` → `{"id", "status": starting|processing|succeeded|failed|canceled,
  "output": {"version", "weights"}, "error"}`;
- `POST /v1/trainings/{id}/cancel`.
`Authorization: Bearer <REPLICATE_API_TOKEN>` (a secret: env, or SSM through `_PARAM`).
The images travel as one zip in our bucket behind a presigned URL (what Replicate's trainers take).
429, 5xx and transport errors are retryable; other 4xx are final. `REPLICATE_BASE_URL` points it
at a local fake of this wire format in tests (chalicelib/local/fake_replicate.py).
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from chalicelib.aws import client
from chalicelib.secrets import secret
from chalicelib.settings import get_settings
from chalicelib.training.errors import TrainerError
from chalicelib.training.trainers.base import Phase, Progress, TrainingInput

ZIP_URL_EXPIRES_S = 6 * 3600  # the trainer downloads the images when it starts, which may wait in its queue
TIMEOUT_S = 30.0
POLL_AFTER_S = 60
_PHASES: dict[str, Phase] = {
    "starting": "running",
    "processing": "running",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
}


def images_key(workspace_id: str, training_id: str) -> str:
    """Deterministic: a retried start overwrites the same zip."""
    return f"trainings/{workspace_id}/{training_id}/images.zip"


class ReplicateTrainer:
    name = "replicate"

    def start(self, job: TrainingInput) -> Progress:
        settings = get_settings()
        if not settings.replicate_trainer or not settings.replicate_destination:
            raise TrainerError(
                "trainer_not_configured", "REPLICATE_TRAINER and REPLICATE_DESTINATION are not set", retryable=False
            )
        body = {
            "destination": settings.replicate_destination,
            "input": {"input_images": _upload_images(job), "steps": job.steps},
        }
        answer = self._call("POST", f"/v1/models/{settings.replicate_trainer}/trainings", body)
        return _progress(answer)

    def poll(self, handle: str) -> Progress:
        return _progress(self._call("GET", f"/v1/trainings/{handle}"))

    def cancel(self, handle: str) -> None:
        self._call("POST", f"/v1/trainings/{handle}/cancel")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        import httpx

        headers = {"Authorization": f"Bearer {secret('REPLICATE_API_TOKEN')}", "Content-Type": "application/json"}
        url = get_settings().replicate_base_url.rstrip("/") + path
        try:
            response = httpx.request(method, url, json=body, headers=headers, timeout=TIMEOUT_S)
        except httpx.HTTPError as error:
            raise TrainerError("trainer_unavailable", f"the trainer did not answer: {error}", retryable=True) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise TrainerError("trainer_unavailable", f"the trainer answered {response.status_code}", retryable=True)
        if response.status_code >= 400:
            raise TrainerError("trainer_error", _detail(response), retryable=False)
        data = response.json()
        return data if isinstance(data, dict) else {}


def _progress(answer: dict[str, Any]) -> Progress:
    """A Replicate training as our Progress; its output version is the trained model."""
    phase = _PHASES.get(str(answer.get("status")), "running")
    handle = str(answer.get("id") or "") or None
    if phase == "succeeded":
        output = answer.get("output") or {}
        parameters = {"replicate": {"training_id": handle, "version": output.get("version"), "weights": output.get("weights")}}
        return Progress("succeeded", handle, parameters=parameters)
    if phase == "failed":
        return Progress(
            "failed", handle, error={"code": "training_failed", "message": str(answer.get("error") or "failed")[:500]}
        )
    return Progress(phase, handle, poll_after_s=POLL_AFTER_S)


def _detail(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return f"the trainer refused the request ({response.status_code})"
    return str(data.get("detail") or data.get("title") or response.status_code)[:500]


def _upload_images(job: TrainingInput) -> str:
    """The training images as one zip in the images bucket; a presigned URL to it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in job.images:
            archive.writestr(name, data)
    bucket, key = get_settings().images_bucket, images_key(job.workspace_id, job.training_id)
    s3 = client("s3")
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue(), ContentType="application/zip")
    return str(s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=ZIP_URL_EXPIRES_S))
