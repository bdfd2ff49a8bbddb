"""Local fakes of the OpenAI Images API and the Gemini / Imagen APIs, on loopback.

They speak each provider's real wire format, so the official SDKs talk to them unchanged:
- OpenAI: `POST /v1/images/generations` (JSON) and `/v1/images/edits` (multipart), answering
  `{"created", "data": [{"b64_json"}], "usage": {"input_tokens", "output_tokens", ...}}`; errors
  as `{"error": {"message", "type", "code"}}` with the real status codes.
- Gemini: `POST /{version}/models/{model}:generateContent` answering `candidates[].content.parts[]
  .inlineData` and `usageMetadata`; Imagen (Vertex) `...:predict` answering
  `predictions[].bytesBase64Encoded`; errors as `{"error": {"code", "message", "status"}}`.

Behaviour is steered by markers in the prompt: `[fake:slow_first:<ms>]` (the server's first
request is slow), `[fake:503_once]`, `[fake:429_once]` (fails the first time it sees that
prompt), `[fake:safety]`, `[fake:400]`. Images are real PNGs from the local renderer.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from chalicelib.generation.providers.base import ImageRequest
from chalicelib.generation.providers.local import render

_MARK = re.compile(r"\[fake:([a-z0-9_]+)(?::(\d+))?\]")


class FakeProviderServer:
    """Both fakes in one WSGI app (the paths do not overlap)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.seen_prompts: set[str] = set()
        self.first_done = False
        self._server: Any = None
        self.base_url = ""

    def start(self) -> str:
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, name="fake-providers", daemon=True).start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        status, body, headers = self.handle(request)
        return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")(
            environ, start_response
        )

    # --- behaviour ----------------------------------------------------------------------------

    def _steer(self, prompt: str, openai_style: bool) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        marks = {m.group(1): m.group(2) for m in _MARK.finditer(prompt)}
        with self.lock:
            first_request = not self.first_done
            self.first_done = True
            first_time_prompt = prompt not in self.seen_prompts
            self.seen_prompts.add(prompt)
        if "slow_first" in marks and first_request:
            time.sleep(int(marks["slow_first"] or 1000) / 1000)
        if "503_once" in marks and first_time_prompt:
            return self._error(503, "The server is overloaded", "server_error", "UNAVAILABLE", openai_style)
        if "429_once" in marks and first_time_prompt:
            status, body, headers = self._error(
                429, "Rate limit reached", "rate_limit_exceeded", "RESOURCE_EXHAUSTED", openai_style
            )
            headers["Retry-After"] = "1"
            return status, body, headers
        if "400" in marks:
            return self._error(400, "Invalid value for 'size'", "invalid_request_error", "INVALID_ARGUMENT", openai_style)
        if "safety" in marks and openai_style:
            return (
                400,
                {
                    "error": {
                        "message": "Your request was rejected by the safety system.",
                        "type": "image_generation_user_error",
                        "param": None,
                        "code": "moderation_blocked",
                    }
                },
                {},
            )
        return None

    @staticmethod
    def _error(
        status: int, message: str, code: str, google_status: str, openai_style: bool
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if openai_style:
            return status, {"error": {"message": message, "type": code, "param": None, "code": code}}, {}
        return status, {"error": {"code": status, "message": message, "status": google_status}}, {}

    @staticmethod
    def _png(prompt: str, size: str | None, source: bytes | None = None) -> str:
        width, height = (int(x) for x in (size or "1024x1024").split("x")) if size and size != "auto" else (1024, 1024)
        image = render(
            ImageRequest(prompt=prompt, width=width, height=height, seed=0, index=0, model="fake", source_image=source)
        )
        return base64.b64encode(image).decode()

    def handle(self, request: Request) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Dispatch by the path's ending, as each provider's API is addressed."""
        path = request.path
        body = request.get_json(silent=True) if request.is_json else None
        model = body.get("model") if isinstance(body, dict) else request.form.get("model")
        with self.lock:
            self.requests.append({"path": path, "headers": dict(request.headers), "model": model})
        routes = (
            ("/images/generations", self._openai_generate),
            ("/images/edits", self._openai_edit),
            (":generateContent", self._gemini_generate),
            (":predict", self._imagen_predict),
        )
        for ending, answer in routes:
            if path.endswith(ending):
                return answer(request)
        return 404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}}, {}

    def _openai_generate(self, request: Request) -> tuple[int, dict[str, Any], dict[str, str]]:
        body = request.get_json()
        steered = self._steer(body.get("prompt", ""), True)
        if steered:
            return steered
        data = [{"b64_json": self._png(body["prompt"], body.get("size"))} for _ in range(int(body.get("n", 1)))]
        return 200, self._openai_answer(data, body["prompt"]), {}

    def _openai_edit(self, request: Request) -> tuple[int, dict[str, Any], dict[str, str]]:
        prompt = request.form.get("prompt", "")
        steered = self._steer(prompt, True)
        if steered:
            return steered
        files = request.files.getlist("image[]") or request.files.getlist("image")
        if not files:
            return self._error(400, "image is required", "invalid_request_error", "INVALID_ARGUMENT", True)
        data = [{"b64_json": self._png(prompt, request.form.get("size"), files[0].read())}]
        return 200, self._openai_answer(data, prompt, images_in=len(files)), {}

    def _gemini_generate(self, request: Request) -> tuple[int, dict[str, Any], dict[str, str]]:
        parts = request.get_json()["contents"][0]["parts"]
        prompt = " ".join(p.get("text", "") for p in parts)
        steered = self._steer(prompt, False)
        if steered:
            return steered
        if "[fake:safety]" in prompt:
            return (
                200,
                {
                    "candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "IMAGE_SAFETY", "index": 0}],
                    "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
                },
                {},
            )
        # Google's JSON bytes are base64, standard or URL-safe alphabet (the SDK sends URL-safe).
        source = next(
            (
                base64.urlsafe_b64decode(p["inlineData"]["data"].replace("+", "-").replace("/", "_"))
                for p in parts
                if "inlineData" in p
            ),
            None,
        )
        png = self._png(prompt, None, source)
        return (
            200,
            {
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"inlineData": {"mimeType": "image/png", "data": png}}]},
                        "finishReason": "STOP",
                        "index": 0,
                    }
                ],
                "usageMetadata": {
                    "promptTokenCount": len(prompt.split()) + 258 * (len(parts) - 1),
                    "candidatesTokenCount": 1290,
                    "totalTokenCount": 1290 + len(prompt.split()),
                },
                "modelVersion": request.path.rsplit("/", 1)[1].split(":")[0],
            },
            {},
        )

    def _imagen_predict(self, request: Request) -> tuple[int, dict[str, Any], dict[str, str]]:
        body = request.get_json()
        prompt = body["instances"][0]["prompt"]
        steered = self._steer(prompt, False)
        if steered:
            return steered
        if "[fake:safety]" in prompt:
            return 200, {"predictions": [{"raiFilteredReason": "Prompt was blocked by the safety filter."}]}, {}
        count = int(body.get("parameters", {}).get("sampleCount", 1))
        return (
            200,
            {"predictions": [{"bytesBase64Encoded": self._png(prompt, None), "mimeType": "image/png"} for _ in range(count)]},
            {},
        )

    @staticmethod
    def _openai_answer(data: list[dict[str, str]], prompt: str, images_in: int = 0) -> dict[str, Any]:
        text_tokens = max(1, len(prompt.split()))
        image_tokens = 323 * images_in
        return {
            "created": int(time.time()),
            "data": data,
            "usage": {
                "input_tokens": text_tokens + image_tokens,
                "output_tokens": 4160 * len(data),
                "total_tokens": text_tokens + image_tokens + 4160 * len(data),
                "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
            },
        }
