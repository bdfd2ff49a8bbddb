"""Template variables and rendering, pure: no I/O, no clock, every rule tested in isolation.

A template's prompt has `{name}` slots; `{{` and `}}` are literal braces; any other brace is an
error, so what a slot is never depends on a value. Each slot is a declared variable:

- `string`: text of 1..`max_length` characters (default 200, at most 1000), not blank;
- `enum`: one of the listed strings;
- `integer`: a JSON integer (never a boolean, never "4") within `min`..`max`.

A variable may have a default; a variable without one must be given. Rendering substitutes each
slot ONCE, in a single left-to-right pass over the template (`re.sub` with a function): a value
is text and is never parsed again, so a value holding `{other}` or `{{` stays literally that.
The worst-case rendered length is checked when the template is saved, so a rendered prompt
always fits the 4000 characters of a job's prompt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.templates.errors import InvalidTemplate, InvalidVariables

NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
TYPES = ("string", "enum", "integer")
MAX_VARIABLES = 20
MAX_PROMPT_CHARS = 4000  # a job's prompt (API.md)
DEFAULT_MAX_LENGTH = 200
MAX_STRING_LENGTH = 1000
INT_BOUND = 1_000_000_000
_ALLOWED = {
    "string": {"type", "default", "max_length"},
    "enum": {"type", "default", "enum"},
    "integer": {"type", "default", "min", "max"},
}

Value = str | int


@dataclass(frozen=True)
class Variable:
    """One declared variable with its bounds (absent bounds already defaulted)."""

    name: str
    type: str
    default: Value | None = None
    max_length: int | None = None
    enum: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The declaration as stored and shown (API.md field names: min, max, max_length, enum)."""
        out: dict[str, Any] = {"type": self.type}
        extra = {"default": self.default, "max_length": self.max_length, "min": self.minimum, "max": self.maximum}
        out.update({key: value for key, value in extra.items() if value is not None})
        if self.enum:
            out["enum"] = list(self.enum)
        return out

    def widest(self) -> int:
        """The most characters a value of this variable can render to."""
        if self.type == "string":
            return int(self.max_length or DEFAULT_MAX_LENGTH)
        if self.type == "enum":
            return max(len(option) for option in self.enum)
        return max(len(str(self.minimum)), len(str(self.maximum)))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- declaring ------------------------------------------------------------------------------------


def declare(raw: Mapping[str, Mapping[str, Any]]) -> dict[str, Variable]:
    """The variables of a template from their JSON declarations; InvalidTemplate naming
    `variables.<name>[.<attribute>]` at the first that is wrong."""
    if len(raw) > MAX_VARIABLES:
        raise InvalidTemplate(f"at most {MAX_VARIABLES} variables", field="variables")
    return {name: declare_one(name, spec) for name, spec in raw.items()}


def declare_one(name: str, spec: Mapping[str, Any]) -> Variable:
    """One variable's declaration, checked for its type's attributes and a fitting default."""
    field = f"variables.{name}"
    if not NAME.fullmatch(name):
        raise InvalidTemplate(f"{name!r}: a variable name is 1-40 of a-z, 0-9 and _, starting with a letter", field=field)
    kind = spec.get("type")
    if kind not in TYPES:
        raise InvalidTemplate(f"type must be one of {', '.join(TYPES)}", field=f"{field}.type")
    for attribute in spec:
        if attribute not in _ALLOWED[kind]:
            raise InvalidTemplate(f"{attribute!r} does not apply to a {kind} variable", field=f"{field}.{attribute}")
    variable = _typed(name, kind, spec)
    if variable.default is not None:
        try:
            check_value(variable, variable.default)
        except InvalidVariables as bad:
            raise InvalidTemplate(f"default: {bad.message}", field=f"{field}.default") from None
    return variable


def _typed(name: str, kind: str, spec: Mapping[str, Any]) -> Variable:
    field = f"variables.{name}"
    default = spec.get("default")
    if kind == "string":
        length = spec.get("max_length", DEFAULT_MAX_LENGTH)
        if not _is_int(length) or not 1 <= length <= MAX_STRING_LENGTH:
            raise InvalidTemplate(f"max_length must be 1..{MAX_STRING_LENGTH}", field=f"{field}.max_length")
        return Variable(name, kind, default, max_length=length)
    if kind == "enum":
        options = spec.get("enum")
        if not isinstance(options, list | tuple) or not options or not all(isinstance(o, str) and o.strip() for o in options):
            raise InvalidTemplate("enum must list at least one non-blank string", field=f"{field}.enum")
        if len(set(options)) != len(options):
            raise InvalidTemplate("enum values must be unique", field=f"{field}.enum")
        return Variable(name, kind, default, enum=tuple(options))
    low, high = spec.get("min", -INT_BOUND), spec.get("max", INT_BOUND)
    for attribute, bound in (("min", low), ("max", high)):
        if not _is_int(bound) or not -INT_BOUND <= bound <= INT_BOUND:
            raise InvalidTemplate(f"{attribute} must be an integer within ±{INT_BOUND}", field=f"{field}.{attribute}")
    if low > high:
        raise InvalidTemplate("min must not be above max", field=f"{field}.min")
    return Variable(name, kind, default, minimum=low, maximum=high)


# --- the prompt -----------------------------------------------------------------------------------


def slots(prompt: str) -> list[str]:
    """The slot names of a prompt in order of first use; InvalidTemplate (`field: "prompt"`) for
    a brace that is neither a slot nor an escaped `{{`/`}}`."""
    found: list[str] = []
    for match in _TOKEN.finditer(prompt):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None or not NAME.fullmatch(name):
            raise InvalidTemplate(
                f"{token!r} at {match.start()} is not a slot: write {{name}} (a-z, 0-9, _) or {{{{ }}}} for literal braces",
                field="prompt",
            )
        if name not in found:
            found.append(name)
    return found


def check_template(prompt: str, variables: Mapping[str, Variable]) -> None:
    """Every slot is a declared variable, every variable is used, and the longest possible
    rendering fits a job's prompt."""
    used = slots(prompt)
    for name in used:
        if name not in variables:
            raise InvalidTemplate(f"the prompt uses {{{name}}}, which is not a declared variable", field="prompt")
    for name in variables:
        if name not in used:
            raise InvalidTemplate(f"{name!r} is declared but the prompt has no {{{name}}} slot", field=f"variables.{name}")
    longest = len(_substitute(prompt, lambda name: "x" * variables[name].widest()))
    if longest > MAX_PROMPT_CHARS:
        raise InvalidTemplate(
            f"with the longest values the prompt would be {longest} characters; at most {MAX_PROMPT_CHARS}",
            field="prompt",
        )


# --- using ----------------------------------------------------------------------------------------


def check_value(variable: Variable, value: Any) -> Value:
    """`value` if it fits the variable; InvalidVariables naming `variables.<name>` otherwise."""
    field = f"variables.{variable.name}"
    if variable.type == "integer":
        if not _is_int(value):
            raise InvalidVariables(f"{variable.name} must be an integer", field=field)
        low = -INT_BOUND if variable.minimum is None else variable.minimum
        high = INT_BOUND if variable.maximum is None else variable.maximum
        if not low <= value <= high:
            raise InvalidVariables(f"{variable.name} must be within {variable.minimum}..{variable.maximum}", field=field)
        return int(value)
    if not isinstance(value, str):
        raise InvalidVariables(f"{variable.name} must be a string", field=field)
    if variable.type == "enum":
        if value not in variable.enum:
            raise InvalidVariables(f"{variable.name} must be one of: {', '.join(variable.enum)}", field=field)
        return value
    if not value.strip():
        raise InvalidVariables(f"{variable.name} must not be blank", field=field)
    if len(value) > int(variable.max_length or DEFAULT_MAX_LENGTH):
        raise InvalidVariables(f"{variable.name} must be at most {variable.max_length} characters", field=field)
    return value


def resolve(variables: Mapping[str, Variable], given: Mapping[str, Any]) -> dict[str, Value]:
    """The value of every variable: given (checked) or its default. An unknown name, a missing
    value without a default, or a bad value is InvalidVariables naming `variables.<name>`."""
    for name in given:
        if name not in variables:
            raise InvalidVariables(f"{name!r} is not a variable of this template", field=f"variables.{name}")
    values: dict[str, Value] = {}
    for name, variable in variables.items():
        if name in given:
            values[name] = check_value(variable, given[name])
        elif variable.default is not None:
            values[name] = variable.default
        else:
            raise InvalidVariables(f"{name} is required", field=f"variables.{name}")
    return values


def render(prompt: str, values: Mapping[str, Value]) -> str:
    """The prompt with each slot replaced by its value, in one pass: values are never re-read."""
    return _substitute(prompt, lambda name: str(values[name]))


def _substitute(prompt: str, value_of: Callable[[str], str]) -> str:
    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return value_of(match.group(1))

    return _TOKEN.sub(one, prompt)
