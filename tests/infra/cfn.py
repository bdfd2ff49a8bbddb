"""Small readers over a synthesized CloudFormation template (a dict)."""

from __future__ import annotations

from typing import Any


def resources(template: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return {key: res for key, res in template["Resources"].items() if res["Type"] == type_name}


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id].get("Properties", {})


def ref_id(value: Any) -> str | None:
    """The logical id a `Ref` or `Fn::GetAtt` points at (None for anything else)."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def refs_in(value: Any) -> set[str]:
    """Every logical id referenced anywhere inside `value`."""
    found: set[str] = set()
    if isinstance(value, dict):
        target = ref_id(value)
        if target:
            found.add(target)
        for item in value.values():
            found |= refs_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= refs_in(item)
    return found


def flatten_join(value: Any) -> str:
    """A `Fn::Join` (or string) as text, references shown as ${id} — for dashboards and ARNs."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(flatten_join(part) for part in parts)
        target = ref_id(value)
        if target:
            return "${" + target + "}"
        if "Ref" in value:
            return "${" + value["Ref"] + "}"
    return str(value)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """All policy statements attached to a role: its inline AWS::IAM::Policy resources and the
    overflow AWS::IAM::ManagedPolicy CDK adds when a role's statements outgrow one inline policy
    (the API's role, which touches every table)."""
    out: list[dict[str, Any]] = []
    policies = {**resources(template, "AWS::IAM::Policy"), **resources(template, "AWS::IAM::ManagedPolicy")}
    for policy in policies.values():
        p = policy["Properties"]
        if any(ref_id(role) == role_id for role in p.get("Roles", [])):
            out.extend(p["PolicyDocument"]["Statement"])
    return out


def function_ids(template: dict[str, Any]) -> dict[str, str]:
    """Chalice function name (e.g. `worker`) -> logical id, read from FunctionName `imagegen-<stage>-<name>`."""
    out = {}
    for key, res in resources(template, "AWS::Serverless::Function").items():
        name = res["Properties"]["FunctionName"]
        out[name.split("-", 2)[2].replace("-", "_")] = key
    return out
