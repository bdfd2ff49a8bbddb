"""The training state machine's rules, the training price, and the style learner (pure, no AWS)."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.accounting.prices import TRAINER_MODELS, is_trainer_model, job_credits, model_price
from chalicelib.training import states
from chalicelib.training.style import Style, apply_style, intensity_for, learn_style, mean_rgb


def test_every_state_is_known_and_terminal_states_never_move() -> None:
    assert set(states.TRANSITIONS) == set(states.STATES)
    for terminal in states.TERMINAL:
        assert not any(states.can_move(terminal, target) for target in states.STATES)
        assert states.claim(terminal) == "skip"


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("queued", "running", True),
        ("queued", "canceled", True),
        ("queued", "failed", True),  # the sweeper: its messages never ran
        ("queued", "succeeded", False),  # never without running
        ("running", "running", True),  # resumed after a crash or a duplicate
        ("running", "succeeded", True),
        ("running", "canceled", True),
        ("running", "queued", False),
        ("succeeded", "canceled", False),
        ("failed", "running", False),
        ("bogus", "running", False),
    ],
)
def test_transitions(current: str, target: str, allowed: bool) -> None:
    assert states.can_move(current, target) is allowed


def test_claims_and_cancel_answers() -> None:
    assert [states.claim(s) for s in ("queued", "running")] == ["start", "resume"]
    assert {s: states.cancel_answer(s) for s in states.STATES} == {
        "queued": "cancel",
        "running": "cancel",
        "canceled": "done",
        "succeeded": "refuse",
        "failed": "refuse",
    }


@given(st.lists(st.sampled_from(states.STATES), min_size=1, max_size=8))
def test_any_path_the_rules_allow_ends_at_most_once(path: list[str]) -> None:
    """Follow a random path through the rules: once a terminal state is reached, nothing moves."""
    current, ended = "queued", 0
    for target in path:
        if states.can_move(current, target):
            current = target
            ended += target in states.TERMINAL
    assert ended <= 1


def test_a_training_costs_its_credits_per_image_and_a_trainer_is_no_job_model() -> None:
    price = model_price("local", TRAINER_MODELS["local"])
    assert job_credits(price, "1024x1024", "train", 5) == 50
    assert job_credits(price, "1024x1024", "train", 50) == 500
    assert is_trainer_model("local", "style-trainer-v1") and not is_trainer_model("local", "local-v1")
    assert model_price("local", "trn_01JZZZZZZZZZZZZZZZZZZZZZZZ") == model_price("local", "local-v1")  # priced as its base


def _png(colour: tuple[int, int, int], stripe: tuple[int, int, int] | None = None) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (40, 30), colour)
    if stripe:
        ImageDraw.Draw(image).rectangle((0, 0, 19, 29), fill=stripe)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_the_style_learns_the_sets_colour_and_moves_a_picture_toward_it() -> None:
    style = learn_style([_png((20, 60, 200), (40, 90, 230)) for _ in range(5)], steps=1000)
    assert style.images == 5 and style.intensity_pct == intensity_for(1000) == 80
    assert abs(style.mean_rgb[2] - 215) <= 1 and style.mean_rgb[0] < 40
    assert all(len(style.curves[c]) == 17 and style.curves[c] == sorted(style.curves[c]) for c in "rgb")
    assert Style.from_dict(style.as_dict()) == style
    picture = _png((200, 180, 20), (240, 220, 60))
    before, after = mean_rgb(picture), mean_rgb(apply_style(picture, style))
    assert after[2] > before[2] + 100 and after[0] < before[0] - 100, (before, after)


def test_more_steps_apply_the_style_more_strongly() -> None:
    assert intensity_for(100) < intensity_for(1000) < intensity_for(4000) <= 99
    picture = _png((200, 200, 200), (250, 250, 250))
    training = [_png((0, 0, 120), (0, 0, 160))] * 5
    light = mean_rgb(apply_style(picture, learn_style(training, 100)))
    strong = mean_rgb(apply_style(picture, learn_style(training, 4000)))
    assert strong[0] < light[0] < 200


def test_an_unreadable_image_is_refused() -> None:
    with pytest.raises(ValueError, match="could not be read"):
        learn_style([_png((1, 2, 3)), b"not a picture"], steps=500)
    with pytest.raises(ValueError):
        learn_style([], steps=500)
