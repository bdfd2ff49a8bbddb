"""Prices in one place: credits a job costs us (integers) and what a provider costs us (micro-USD)."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.accounting.errors import UnknownPrice

SIZES: dict[str, tuple[int, int]] = {
    "256x256": (256, 256),
    "512x512": (512, 512),
    "1024x1024": (1024, 1024),
    "1024x1536": (1024, 1536),
    "1536x1024": (1536, 1024),
    "2048x2048": (2048, 2048),
    "4096x4096": (4096, 4096),  # output only: 4x upscales
}
KINDS = ("generate", "vary", "upscale", "edit", "style_transfer")

# Credits per image for a 1024x1024 `generate`; size and kind multiply it.
_SIZE_FACTOR = {"256x256": 1, "512x512": 1, "1024x1024": 1, "1024x1536": 2, "1536x1024": 2, "2048x2048": 4, "4096x4096": 16}


def size_class(width: int, height: int) -> str:
    """The price size for an image of any dimensions: the smallest class that holds its pixels."""
    pixels = width * height
    for label in ("1024x1024", "1536x1024", "2048x2048", "4096x4096"):
        w, h = SIZES[label]
        if pixels <= w * h:
            return label
    return "4096x4096"


_KIND_FACTOR = {"generate": 1, "vary": 1, "edit": 1, "upscale": 2, "style_transfer": 2}


@dataclass(frozen=True)
class ModelPrice:
    """How a provider model is priced to us and to our customers.

    `cost_per_image_micro_usd` for per-image models; the two token rates (micro-USD per
    million tokens) for token-priced models; both may be set.
    """

    provider: str
    model: str
    credits_per_image: int
    cost_per_image_micro_usd: int = 0
    input_micro_usd_per_mtok: int = 0
    output_micro_usd_per_mtok: int = 0
    max_output_tokens_per_image: int = 0  # worst case, reserved at admission
    input_tokens_per_char_x100: int = 0  # worst-case prompt token estimate (x100 per char)

    @property
    def token_priced(self) -> bool:
        return bool(self.input_micro_usd_per_mtok or self.output_micro_usd_per_mtok)


MODELS: dict[tuple[str, str], ModelPrice] = {
    ("local", "local-v1"): ModelPrice("local", "local-v1", credits_per_image=1),
    ("gemini", "gemini-2.5-flash-image"): ModelPrice(
        "gemini",
        "gemini-2.5-flash-image",
        credits_per_image=4,
        input_micro_usd_per_mtok=300_000,
        output_micro_usd_per_mtok=30_000_000,
        max_output_tokens_per_image=1_290,
        input_tokens_per_char_x100=50,
    ),
    ("gemini", "imagen-4.0-generate-001"): ModelPrice(
        "gemini",
        "imagen-4.0-generate-001",
        credits_per_image=4,
        cost_per_image_micro_usd=40_000,
    ),
    ("openai", "gpt-image-1"): ModelPrice(
        "openai",
        "gpt-image-1",
        credits_per_image=5,
        input_micro_usd_per_mtok=5_000_000,
        output_micro_usd_per_mtok=40_000_000,
        max_output_tokens_per_image=6_240,
        input_tokens_per_char_x100=50,
    ),
}

DEFAULT_MODEL: dict[str, str] = {
    "local": "local-v1",
    "gemini": "gemini-2.5-flash-image",
    "openai": "gpt-image-1",
}


def model_price(provider: str, model: str | None) -> ModelPrice:
    """The price entry of a provider's model (its default model when `model` is None)."""
    name = model or DEFAULT_MODEL.get(provider, "")
    if name.startswith(TRAINED_PREFIX):  # a workspace's trained model costs what its base model costs
        name = DEFAULT_MODEL.get(provider, "")
    try:
        return MODELS[(provider, name)]
    except KeyError:
        raise UnknownPrice(provider, name) from None


def credits_per_image(price: ModelPrice, size: str, kind: str) -> int:
    """Credits one image costs the customer for this model, size and kind."""
    return price.credits_per_image * _SIZE_FACTOR[size] * _KIND_FACTOR[kind]


def job_credits(price: ModelPrice, size: str, kind: str, images: int) -> int:
    """Credits for `images` images (admission reserves n; settlement charges what was made)."""
    return credits_per_image(price, size, kind) * images


def worst_case_tokens(price: ModelPrice, prompt: str, n: int) -> tuple[int, int]:
    """Upper bound of (input, output) tokens a job may use: reserved against the daily quota."""
    if not price.token_priced:
        return 0, 0
    input_tokens = -(-len(prompt) * price.input_tokens_per_char_x100 // 100) + 16
    return input_tokens, price.max_output_tokens_per_image * n


def provider_cost_micro_usd(price: ModelPrice, images: int, input_tokens: int, output_tokens: int) -> int:
    """What the provider charges us, rounded up to the micro-dollar (never a float)."""
    per_image = price.cost_per_image_micro_usd * images
    tokens = input_tokens * price.input_micro_usd_per_mtok + output_tokens * price.output_micro_usd_per_mtok
    return per_image + -(-tokens // 1_000_000)


# --- custom model training (issue 16) -------------------------------------------------------------
# A training is admitted like a job (accounting.admission): its row is a job row of kind `train`
# whose `n` is the number of training images, priced by a trainer "model" of the `local` provider
# (our own compute: the hosted trainer's bill is ours too). TRAINING_CREDITS_PER_IMAGE credits per
# training image, at most MAX_TRAINING_IMAGES images: a 5-image training costs 50 credits.
TRAINED_PREFIX = "trn_"  # a succeeded training's id is a model name of the provider it generates with
TRAIN_KIND = "train"
TRAINING_CREDITS_PER_IMAGE = 10
TRAINER_MODELS: dict[str, str] = {"local": "style-trainer-v1", "replicate": "replicate-trainer"}
_KIND_FACTOR[TRAIN_KIND] = TRAINING_CREDITS_PER_IMAGE
for _trainer_model in TRAINER_MODELS.values():
    MODELS[("local", _trainer_model)] = ModelPrice("local", _trainer_model, credits_per_image=1)


def is_trainer_model(provider: str, model: str | None) -> bool:
    """A trainer's price entry: it prices trainings, never a generation job."""
    return provider == "local" and model in TRAINER_MODELS.values()
