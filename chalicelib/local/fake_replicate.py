"""A local fake of Replicate's trainings API, on loopback (the hosted trainer's tests).

It speaks the wire format `training/trainers/replicate.py` uses:
- `POST /v1/models/{owner}/{name}/versions/{version_id}/trainings` `{"destination", "input"}` →
  201 with the training (`status: "starting"`); it downloads `input.input_images` (the zip URL)
  and counts the files, as the real trainer would before it starts;
- `GET /v1/trainings/{id}` → the training; every read moves it on (starting → processing →
  succeeded after `polls_to_finish` reads, with `output.version` and `output.weights`);
- `POST /v1/trainings/{id}/cancel` → `status: "canceled"`.
`Authorization: Bearer <token>` is required (401 `{"detail"}` otherwise); a bad destination or a
missing zip is 422; `fail(id)` makes a training fail, `outage` makes every call answer 503.
"""

from __future__ import annotations

import io
import json
import re
import threading
import urllib.request
import uuid
import zipfile
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

_CREATE = re.compile(r"^/v1/models/([\w.-]+)/([\w.-]+)/versions/(\w+)/trainings$")
_ONE = re.compile(r"^/v1/trainings/(\w+)(/cancel)?$")


class FakeReplicate:
    def __init__(self, token: str = "r8_test_token", polls_to_finish: int = 2) -> None:
        self.token = token
        self.polls_to_finish = polls_to_finish
        self.trainings: dict[str, dict[str, Any]] = {}
        self.polls: dict[str, int] = {}
        self.zip_files: dict[str, int] = {}
        self.outage = False
        self.lock = threading.Lock()
        self._server: Any = None

    def start(self) -> str:
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        threading.Thread(target=self._server.serve_forever, name="fake-replicate", daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def fail(self, training_id: str, message: str = "CUDA out of memory") -> None:
        with self.lock:
            self.trainings[training_id].update(status="failed", error=message)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        status, body = self.handle(Request(environ))
        return Response(json.dumps(body), status=status, content_type="application/json")(environ, start_response)

    def handle(self, request: Request) -> tuple[int, dict[str, Any]]:
        if self.outage:
            return 503, {"detail": "Service Unavailable"}
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"title": "Unauthenticated", "detail": "You did not pass a valid authentication token"}
        created = _CREATE.match(request.path)
        if created and request.method == "POST":
            return self._create(created.group(1), created.group(2), created.group(3), request.get_json(silent=True) or {})
        one = _ONE.match(request.path)
        if one is None or one.group(1) not in self.trainings:
            return 404, {"detail": "Not found."}
        if one.group(2) and request.method == "POST":
            return self._cancel(one.group(1))
        if request.method == "GET" and not one.group(2):
            return self._poll(one.group(1))
        return 405, {"detail": "Method not allowed."}

    def _create(self, owner: str, name: str, version: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        destination = str(body.get("destination") or "")
        url = (body.get("input") or {}).get("input_images")
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", destination) or not url:
            return 422, {"detail": "destination must be <owner>/<model> and input.input_images a URL"}
        try:
            # a presigned URL of the local stack's bucket, on loopback
            with urllib.request.urlopen(str(url), timeout=10) as answer:
                files = len(zipfile.ZipFile(io.BytesIO(answer.read())).namelist())
        except (OSError, zipfile.BadZipFile):
            return 422, {"detail": "input_images could not be downloaded as a zip"}
        training_id = uuid.uuid4().hex[:20]
        training = {
            "id": training_id, "model": f"{owner}/{name}", "version": version, "destination": destination,
            "input": body.get("input"), "status": "starting", "output": None, "error": None, "logs": "",
            "urls": {"get": f"/v1/trainings/{training_id}", "cancel": f"/v1/trainings/{training_id}/cancel"},
        }  # fmt: skip
        with self.lock:
            self.trainings[training_id] = training
            self.zip_files[training_id] = files
        return 201, training

    def _poll(self, training_id: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            training = self.trainings[training_id]
            self.polls[training_id] = self.polls.get(training_id, 0) + 1
            if training["status"] in ("starting", "processing"):
                done = self.polls[training_id] >= self.polls_to_finish
                training["status"] = "succeeded" if done else "processing"
                if done:
                    digest = uuid.uuid5(uuid.NAMESPACE_URL, training_id).hex
                    training["output"] = {
                        "version": f"{training['destination']}:{digest}",
                        "weights": f"https://replicate.delivery/fake/{training_id}/trained_model.tar",
                    }
            return 200, dict(training)

    def _cancel(self, training_id: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            training = self.trainings[training_id]
            if training["status"] in ("starting", "processing"):
                training["status"] = "canceled"
            return 200, dict(training)
