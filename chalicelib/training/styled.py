"""A trained style on a hosted provider's pictures: the generation worker wraps the Gemini or
OpenAI provider of a job whose `model` is the workspace's trained model (`trn_…`). The provider
draws with its own base model (a trained model's name means nothing to it), then the style the
training learnt is applied to each returned picture (training/style.py, Pillow). The `local`
provider applies it itself while drawing (generation/providers/local.py).

The style is read (and checked to be the workspace's own succeeded training) before the provider
is called, so a job whose model is not usable costs nothing at the provider.
"""

from __future__ import annotations

from dataclasses import replace

from chalicelib.generation.providers.base import GeneratedImage, ImageRequest, Provider, ProviderError


class StyledProvider:
    """`inner` (a hosted provider) drawing with `base_model`, its pictures then given the style."""

    def __init__(self, inner: Provider, base_model: str) -> None:
        self.inner = inner
        self.base_model = base_model
        self.name = inner.name

    def generate(self, request: ImageRequest) -> GeneratedImage:
        from chalicelib.training.service import trained_style
        from chalicelib.training.style import apply_style

        style = trained_style(request.options.get("workspace_id", ""), request.model)
        if style is None:
            message = f"model {request.model} is not a trained model of this workspace"
            raise ProviderError("invalid_provider_request", message, retryable=False)
        made = self.inner.generate(replace(request, model=self.base_model))
        try:
            styled = apply_style(made.data, style)
        except (OSError, ValueError) as exc:  # the provider's bytes are not a picture Pillow reads
            raise ProviderError(
                "provider_bad_image", f"the provider's image could not be styled: {exc}", retryable=True
            ) from None
        return replace(made, data=styled, content_type="image/png")
