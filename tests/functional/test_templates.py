"""Templates through the real routes on moto: create, read, edit (versions), delete, list, render,
jobs made from a template, who may see and change what, and usage counts."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import clock, ids
from chalicelib.accounting import prices
from chalicelib.store import templates as template_store
from chalicelib.store import users
from chalicelib.tenancy.service import create_key
from tests.conftest import Tenant
from tests.functional.helpers import call, drain, purge, receive

PORTRAIT = {
    "name": "Pet portrait",
    "prompt": "A portrait of a {animal} named {name}, {age} years old, {{royal}} style",
    "variables": {
        "animal": {"type": "enum", "enum": ["cat", "dog"], "default": "cat"},
        "name": {"type": "string", "max_length": 20},
        "age": {"type": "integer", "min": 0, "max": 30, "default": 3},
    },
    "tags": ["pet", "portrait"],
    "size": "512x512",
    "n": 2,
    "visibility": "workspace",
}


def _vars(**changes: Any) -> dict[str, Any]:
    return {**PORTRAIT["variables"], **changes}


def _create(api: Any, tenant: Tenant, **changes: Any) -> dict[str, Any]:
    status, body, _ = call(api, "POST", "/v1/templates", tenant, {**PORTRAIT, **changes})
    assert status == 201, body
    return body["template"]


def _member(tenant: Tenant, role: str) -> Tenant:
    """Another user of the tenant's workspace, with their own key."""
    user = users.new_user(ids.new_id("usr"), tenant.workspace_id, f"{role}{ids.new_id('usr')}@example.test", role=role,
                          is_admin=False, now=clock.now())  # fmt: skip
    user.save()
    made = create_key(user, "second")
    return Tenant(tenant.workspace_id, user.user_id, made.key.key_id, made.secret)


def test_create_read_render_and_usage(api, make_tenant):
    t = make_tenant()
    made = _create(api, t)
    assert ids.is_id(made["id"], "tpl") and made["version"] == 1 and made["latest_version"] == 1
    name = {"type": "string", "max_length": 20, "enum": None, "default": None, "min": None, "max": None}
    assert made["variables"]["name"] == name
    assert made["prebuilt"] is False and made["tags"] == ["pet", "portrait"]
    status, body, _ = call(api, "GET", f"/v1/templates/{made['id']}", t)
    assert status == 200 and body["template"]["usage"] == {"uses": 0, "workspaces": 0}
    status, body, _ = call(api, "POST", f"/v1/templates/{made['id']}/render", t, {"variables": {"name": "Rex", "animal": "dog"}})
    assert status == 200, body
    prompt = "A portrait of a dog named Rex, 3 years old, {royal} style"
    assert body == {"prompt": prompt, "template_id": made["id"], "version": 1}


def test_a_value_is_text_never_a_template(api, make_tenant):
    t = make_tenant()
    made = _create(api, t)
    for name in ("{animal}", "{{animal}}", "{name}{age}", "{__class__}", "{0}", "%(animal)s", "${animal}"):
        status, body, _ = call(api, "POST", f"/v1/templates/{made['id']}/render", t, {"variables": {"name": name}})
        assert status == 200, body
        assert body["prompt"] == f"A portrait of a cat named {name}, 3 years old, {{royal}} style"


def test_a_job_from_a_template_is_rendered_on_the_server_and_counted(api, make_tenant):
    purge()
    t = make_tenant()
    made = _create(api, t)
    status, body, _ = call(api, "POST", "/v1/jobs", t, {"template_id": made["id"], "variables": {"name": "Mia"}})
    assert status == 202, body
    job = body["job"]
    assert job["prompt"] == "A portrait of a cat named Mia, 3 years old, {royal} style"
    assert (job["template_id"], job["template_version"], job["template_notice"]) == (made["id"], 1, None)
    assert (job["size"], job["n"]) == ("512x512", 2)  # the template's pins
    status, body, _ = call(api, "POST", "/v1/jobs", t, {"template_id": made["id"], "variables": {"name": "Leo"}, "n": 1})
    assert status == 202 and body["job"]["n"] == 1  # the request's own choice wins over a pin
    assert drain() == 2
    status, body, _ = call(api, "GET", f"/v1/jobs/{job['id']}", t)
    assert body["job"]["status"] == "succeeded" and body["job"]["template_version"] == 1
    _, body, _ = call(api, "GET", f"/v1/templates/{made['id']}", t)
    assert body["template"]["usage"] == {"uses": 2, "workspaces": 1}


def test_a_job_keeps_the_version_it_was_made_from(api, make_tenant):
    purge()
    t = make_tenant()
    made = _create(api, t)
    _, first, _ = call(api, "POST", "/v1/jobs", t, {"template_id": made["id"], "variables": {"name": "Mia"}})
    status, body, _ = call(api, "PATCH", f"/v1/templates/{made['id']}", t, {"prompt": "A {animal} called {name}, age {age}"})
    assert status == 200 and body["template"]["version"] == 2 and body["template"]["latest_version"] == 2
    assert body["template"]["name"] == PORTRAIT["name"] and body["template"]["created_at"] == made["created_at"]
    drain()
    _, job, _ = call(api, "GET", f"/v1/jobs/{first['job']['id']}", t)
    assert job["job"]["template_version"] == 1 and job["job"]["prompt"].startswith("A portrait of a cat named Mia")
    status, old, _ = call(api, "GET", f"/v1/templates/{made['id']}?version=1", t)
    assert status == 200 and old["template"]["prompt"] == PORTRAIT["prompt"]
    assert (old["template"]["version"], old["template"]["latest_version"]) == (1, 2)
    _, second, _ = call(api, "POST", "/v1/jobs", t, {"template_id": made["id"], "variables": {"name": "Mia"}})
    assert second["job"]["template_version"] == 2 and second["job"]["prompt"] == "A cat called Mia, age 3"
    for version in ("3", "0", "-1", "x", "1.0", "²"):
        status, err, _ = call(api, "GET", f"/v1/templates/{made['id']}?version={version}", t)
        assert status in (400, 404), (version, err)
    purge()


def test_a_stale_edit_loses(api, make_tenant):
    t = make_tenant()
    made = _create(api, t)
    assert call(api, "PATCH", f"/v1/templates/{made['id']}", t, {"name": "second"})[0] == 200
    stale = template_store.get(made["id"], 1)
    stale.version, stale.latest_version = 2, 2  # written by an editor who read version 1
    assert template_store.add_version(stale) is False
    _, body, _ = call(api, "GET", f"/v1/templates/{made['id']}", t)
    assert body["template"]["name"] == "second" and body["template"]["version"] == 2


def test_delete_hides_the_template_but_not_the_jobs_made_from_it(api, make_tenant):
    purge()
    t = make_tenant()
    made = _create(api, t)
    _, job, _ = call(api, "POST", "/v1/jobs", t, {"template_id": made["id"], "variables": {"name": "Mia"}})
    status, _, _ = call(api, "DELETE", f"/v1/templates/{made['id']}", t)
    assert status == 204
    for method, path, body in (
        ("GET", f"/v1/templates/{made['id']}", None),
        ("POST", f"/v1/templates/{made['id']}/render", {"variables": {"name": "x"}}),
        ("PATCH", f"/v1/templates/{made['id']}", {"name": "x"}),
        ("DELETE", f"/v1/templates/{made['id']}", None),
        ("POST", "/v1/jobs", {"template_id": made["id"], "variables": {"name": "x"}}),
    ):
        status, err, _ = call(api, method, path, t, body)
        assert status == 404 and err["error"]["code"] == "not_found", (method, path)
    _, page, _ = call(api, "GET", "/v1/templates?scope=workspace", t)
    assert made["id"] not in [x["id"] for x in page["data"]]
    _, still, _ = call(api, "GET", f"/v1/jobs/{job['job']['id']}", t)
    assert still["job"]["template_id"] == made["id"] and still["job"]["template_version"] == 1
    purge()


def test_a_pinned_model_that_is_gone_falls_back_and_says_so(api, make_tenant, monkeypatch):
    purge()
    t = make_tenant()
    monkeypatch.setitem(prices.MODELS, ("local", "local-v0"), prices.ModelPrice("local", "local-v0", credits_per_image=1))
    made = _create(api, t, provider="local", model="local-v0")
    assert made["model"] == "local-v0"
    monkeypatch.delitem(prices.MODELS, ("local", "local-v0"))  # the model was retired since
    status, body, _ = call(api, "POST", "/v1/jobs", t, {"template_id": made["id"], "variables": {"name": "Mia"}})
    assert status == 202, body
    assert body["job"]["model"] == "local-v1" and "local-v0" in body["job"]["template_notice"]
    status, err, _ = call(api, "POST", "/v1/templates", t, {**PORTRAIT, "provider": "local", "model": "local-v0"})
    assert status == 400 and err["error"]["field"] == "model"  # a new template cannot pin it
    purge()


def test_prompt_and_template_id_together_or_neither_are_refused(api, make_tenant):
    purge()
    t = make_tenant()
    made = _create(api, t)
    for body, field in (
        ({"prompt": "x", "template_id": made["id"], "variables": {"name": "a"}}, "prompt"),
        ({"variables": {"name": "a"}}, "variables.name"),
        ({"kind": "generate"}, "prompt"),
        ({"template_id": "tpl_nope"}, None),
    ):
        status, err, _ = call(api, "POST", "/v1/jobs", t, body)
        assert status in (400, 404) and err["error"].get("field") == field, (body, err)
    assert receive() == []


# --- who sees what ------------------------------------------------------------------------------


def test_another_tenants_private_and_workspace_templates_are_not_found(api, make_tenant):
    purge()
    a, b = make_tenant(), make_tenant()
    hidden = [_create(api, a, visibility="private")["id"], _create(api, a, visibility="workspace")["id"]]
    public = _create(api, a, visibility="public")["id"]
    for template_id in hidden:
        for method, path, body in (
            ("GET", f"/v1/templates/{template_id}", None),
            ("GET", f"/v1/templates/{template_id}?version=1", None),
            ("POST", f"/v1/templates/{template_id}/render", {"variables": {"name": "x"}}),
            ("PATCH", f"/v1/templates/{template_id}", {"name": "mine now"}),
            ("DELETE", f"/v1/templates/{template_id}", None),
            ("POST", "/v1/jobs", {"template_id": template_id, "variables": {"name": "x"}}),
        ):
            status, err, _ = call(api, method, path, b, body)
            assert status == 404 and err["error"]["code"] == "not_found", (method, path, err)
            assert PORTRAIT["prompt"] not in str(err)
    _, page, _ = call(api, "GET", "/v1/templates?scope=workspace", b)
    assert not {x["id"] for x in page["data"]} & {*hidden, public}
    assert call(api, "POST", f"/v1/templates/{public}/render", b, {"variables": {"name": "x"}})[0] == 200
    status, body, _ = call(api, "POST", "/v1/jobs", b, {"template_id": public, "variables": {"name": "x"}})
    assert status == 202, body
    for method, body in (("PATCH", {"name": "mine now"}), ("DELETE", None)):
        status, err, _ = call(api, method, f"/v1/templates/{public}", b, body)
        assert status == 403 and err["error"]["code"] == "forbidden"
    _, own, _ = call(api, "GET", f"/v1/templates/{public}", a)
    assert own["template"]["version"] == 1 and own["template"]["usage"] == {"uses": 1, "workspaces": 1}
    purge()


def test_inside_a_workspace_private_is_the_creators_and_editing_others_needs_manage(api, make_tenant):
    owner = make_tenant()
    member, other_member = _member(owner, "member"), _member(owner, "member")
    private = _create(api, member, visibility="private")["id"]
    shared = _create(api, member, visibility="workspace")["id"]
    assert call(api, "GET", f"/v1/templates/{private}", other_member)[0] == 404
    assert call(api, "GET", f"/v1/templates/{private}", owner)[0] == 404  # private even to the owner
    _, page, _ = call(api, "GET", "/v1/templates?scope=workspace", other_member)
    assert [x["id"] for x in page["data"]] == [shared]
    _, page, _ = call(api, "GET", "/v1/templates?scope=workspace", member)
    assert [x["id"] for x in page["data"]] == [shared, private]
    status, err, _ = call(api, "PATCH", f"/v1/templates/{shared}", other_member, {"name": "taken over"})
    assert status == 403 and "library:manage" in err["error"]["message"]
    assert call(api, "DELETE", f"/v1/templates/{shared}", other_member)[0] == 403
    status, body, _ = call(api, "PATCH", f"/v1/templates/{shared}", owner, {"name": "tidied by the owner"})
    assert status == 200 and body["template"]["version"] == 2
    assert call(api, "PATCH", f"/v1/templates/{shared}", member, {"tags": ["mine"]})[0] == 200
    viewer = _member(owner, "viewer")
    assert call(api, "GET", f"/v1/templates/{shared}", viewer)[0] == 200
    status, err, _ = call(api, "POST", "/v1/templates", viewer, PORTRAIT)
    assert status == 403 and err["error"]["scope"] == "library:write"


def test_prebuilt_templates_are_read_only_and_usable(api, make_tenant):
    purge()
    t = make_tenant()
    _, page, _ = call(api, "GET", "/v1/templates?scope=prebuilt&q=watercolor", t)
    (watercolor,) = page["data"]
    assert watercolor["prebuilt"] is True and watercolor["visibility"] == "public"
    for method, body in (("PATCH", {"name": "mine"}), ("DELETE", None)):
        status, err, _ = call(api, method, f"/v1/templates/{watercolor['id']}", t, body)
        assert status == 403 and err["error"]["code"] == "forbidden"
    status, body, _ = call(api, "POST", "/v1/jobs", t, {"template_id": watercolor["id"], "variables": {"place": "Kyoto"}})
    assert status == 202 and body["job"]["prompt"].startswith("A loose watercolor painting of Kyoto in autumn")
    assert body["job"]["size"] == "1536x1024" and body["job"]["template_version"] == 1
    _, detail, _ = call(api, "GET", f"/v1/templates/{watercolor['id']}", t)
    assert detail["template"]["usage"]["uses"] >= 1
    assert call(api, "GET", f"/v1/templates/{watercolor['id']}?version=2", t)[0] == 404
    purge()


# --- listings -----------------------------------------------------------------------------------


def test_the_prebuilt_catalogue_pages_and_filters(api, make_tenant):
    t = make_tenant()
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        _, page, _ = call(api, "GET", "/v1/templates?scope=prebuilt&limit=12" + (f"&cursor={cursor}" if cursor else ""), t)
        seen += [x["id"] for x in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) >= 30 and len(set(seen)) == len(seen) and seen == sorted(seen, reverse=True)
    _, page, _ = call(api, "GET", "/v1/templates?scope=prebuilt&tag=photo&limit=100", t)
    assert len(page["data"]) >= 5 and all("photo" in x["tags"] for x in page["data"])
    _, page, _ = call(api, "GET", "/v1/templates?scope=prebuilt&q=Pixel%20ART&limit=100", t)
    assert [x["name"] for x in page["data"]] == ["Pixel art sprite"]


def test_the_workspace_listing_filters_by_words_and_tag_and_pages(api, make_tenant):
    t = make_tenant()
    fox = "a {animal} fox number %d in snow {name} {age}"
    made = [_create(api, t, name=f"Fox {i}", prompt=fox % i, tags=["fox", f"n{i % 2}"])["id"] for i in range(5)]
    other = _create(api, t, name="Owl", prompt="an owl {animal} {name} {age}", tags=["owl"])["id"]
    _, page, _ = call(api, "GET", "/v1/templates?scope=workspace&limit=2", t)
    assert [x["id"] for x in page["data"]] == [other, made[4]]
    _, page2, _ = call(api, "GET", f"/v1/templates?scope=workspace&limit=2&cursor={page['next_cursor']}", t)
    assert [x["id"] for x in page2["data"]] == [made[3], made[2]]
    _, found, _ = call(api, "GET", "/v1/templates?scope=workspace&q=fox%20SNOW&tag=n1", t)
    assert [x["id"] for x in found["data"]] == [made[3], made[1]]
    _, found, _ = call(api, "GET", "/v1/templates?scope=workspace&q=owl", t)
    assert [x["id"] for x in found["data"]] == [other]
    _, found, _ = call(api, "GET", "/v1/templates?scope=workspace&q=animal", t)  # slot names are not words
    assert found["data"] == []
    status, err, _ = call(api, "GET", f"/v1/templates?scope=workspace&q=fox&cursor={page['next_cursor']}", t)
    assert status == 400 and err["error"]["field"] == "cursor"  # a cursor belongs to its own filters


def test_the_public_listing_merges_its_shards_newest_first(api, fresh_aws, make_tenant):
    a, b = make_tenant(), make_tenant()
    public = [_create(api, [a, b][i % 2], name=f"Public {i}", visibility="public")["id"] for i in range(9)]
    _create(api, a, visibility="workspace")
    shards = {template_store.public_shard(template_id) for template_id in public}
    assert len(shards) > 1
    seen: list[str] = []
    cursor = None
    while True:
        status, page, _ = call(api, "GET", "/v1/templates?scope=public&limit=4" + (f"&cursor={cursor}" if cursor else ""), b)
        assert status == 200, page
        seen += [x["id"] for x in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == public[::-1]
    _, found, _ = call(api, "GET", "/v1/templates?scope=public&q=public%204", a)
    assert [x["id"] for x in found["data"]] == [public[4]]


# --- bad input and idempotency ------------------------------------------------------------------

BAD_TEMPLATES = [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": 5}, "name"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": "x" * 4001}, "prompt"),
    ({"prompt": "a {undeclared} {animal} {name} {age}"}, "prompt"),
    ({"prompt": "a {animal} {name}"}, "variables.age"),  # declared, never used
    ({"prompt": "a {animal} {name} {age} {"}, "prompt"),
    ({"prompt": "a {animal!r} {name} {age}"}, "prompt"),
    ({"prompt": "a {animal.__class__} {name} {age}"}, "prompt"),
    ({"prompt": "a {animal:>9} {name} {age}"}, "prompt"),
    ({"prompt": "{animal} {name} {age}" + "x" * 3980}, "prompt"),  # too long with the longest values
    ({"variables": []}, "variables"),
    ({"variables": {"Bad-Name": {"type": "string"}}}, "variables.Bad-Name"),
    ({"variables": _vars(name={"type": "text"})}, "variables.name.type"),
    ({"variables": _vars(name={"type": "string", "max_length": 0})}, "variables.name.max_length"),
    ({"variables": _vars(name={"type": "string", "max_length": 1001})}, "variables.name.max_length"),
    ({"variables": _vars(name={"type": "string", "enum": ["a"]})}, "variables.name.enum"),
    ({"variables": _vars(name={"type": "string", "default": 4})}, "variables.name.default"),
    ({"variables": _vars(name={"type": "string", "max_length": 3, "default": "long"})}, "variables.name.default"),
    ({"variables": _vars(name={"type": "string", "unknown": 1})}, "variables.name.unknown"),
    ({"variables": _vars(animal={"type": "enum"})}, "variables.animal.enum"),
    ({"variables": _vars(animal={"type": "enum", "enum": []})}, "variables.animal.enum"),
    ({"variables": _vars(animal={"type": "enum", "enum": ["a", "a"]})}, "variables.animal.enum"),
    ({"variables": _vars(animal={"type": "enum", "enum": ["a"], "default": "b"})}, "variables.animal.default"),
    ({"variables": _vars(animal={"type": "enum", "enum": [1]})}, "variables.animal.enum.0"),
    ({"variables": _vars(age={"type": "integer", "min": 5, "max": 1})}, "variables.age.min"),
    ({"variables": _vars(age={"type": "integer", "max": 2, "default": 3})}, "variables.age.default"),
    ({"variables": _vars(age={"type": "integer", "min": "1"})}, "variables.age.min"),
    ({"variables": _vars(age={"type": "integer", "default": True})}, "variables.age.default"),
    ({"variables": _vars(age={"type": "integer", "max_length": 3})}, "variables.age.max_length"),
    ({"provider": "midjourney"}, "provider"),
    ({"model": "local-v1"}, "model"),  # a model needs its provider
    ({"provider": "local", "model": "gpt-image-1"}, "model"),
    ({"size": "999x999"}, "size"),
    ({"n": 0}, "n"),
    ({"n": 5}, "n"),
    ({"n": "2"}, "n"),
    ({"tags": ["Has Space"]}, "tags.0"),
    ({"tags": ["a", "a"]}, "tags"),
    ({"tags": [f"t{i}" for i in range(11)]}, "tags"),
    ({"tags": "pet"}, "tags"),
    ({"visibility": "friends"}, "visibility"),
    ({"visibility": None}, "visibility"),
    ({"owner": "me"}, "owner"),
]


@pytest.mark.parametrize(("change", "field"), BAD_TEMPLATES, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD_TEMPLATES)])
def test_bad_templates_are_400_naming_the_field_and_change_nothing(api, make_tenant, change, field):
    t = make_tenant()
    status, err, headers = call(api, "POST", "/v1/templates", t, {**PORTRAIT, **change})
    assert status == 400, err
    assert err["error"]["code"] == "invalid_request" and err["error"]["field"] == field, err
    assert err["error"]["request_id"] == headers["X-Request-Id"]
    made = _create(api, t)
    patch_status, patch_err, _ = call(api, "PATCH", f"/v1/templates/{made['id']}", t, change)
    assert patch_status == 400 and patch_err["error"]["field"] in (field, "prompt"), patch_err
    _, page, _ = call(api, "GET", "/v1/templates?scope=workspace", t)
    assert [(x["id"], x["version"]) for x in page["data"]] == [(made["id"], 1)]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("scope=everything", "scope"),
        ("tag=Not%20A%20Tag", "tag"),
        ("q=a+b+c+d+e+f", "q"),
        ("q=" + "x" * 201, "q"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=forged.cursor", "cursor"),
        ("sort=top", "sort"),
    ],
)
def test_bad_listing_parameters_are_400(api, make_tenant, query, field):
    t = make_tenant()
    status, err, _ = call(api, "GET", f"/v1/templates?{query}", t)
    assert status == 400 and err["error"]["field"] == field, err


def test_bad_patch_and_render_bodies(api, make_tenant):
    t = make_tenant()
    made = _create(api, t)
    for body, field in (({}, None), ({"name": None}, "name"), ({"version": 3}, "version"), ({"prompt": 4}, "prompt")):
        status, err, _ = call(api, "PATCH", f"/v1/templates/{made['id']}", t, body)
        assert status == 400 and err["error"].get("field") == field, (body, err)
    bodies = (({"variables": []}, "variables"), ({"vars": {}}, "vars"), ({"variables": {"name": None}}, "variables.name"))
    for body, field in bodies:
        status, err, _ = call(api, "POST", f"/v1/templates/{made['id']}/render", t, body)
        assert status == 400 and err["error"].get("field") == field, (body, err)
    assert call(api, "GET", f"/v1/templates/{made['id']}?verison=1", t)[0] == 400
    _, body, _ = call(api, "GET", f"/v1/templates/{made['id']}", t)
    assert body["template"]["version"] == 1


def test_create_is_idempotent_with_an_idempotency_key(api, make_tenant):
    t = make_tenant()
    headers = {"Idempotency-Key": "tpl-create-1"}
    first = call(api, "POST", "/v1/templates", t, PORTRAIT, headers=headers)
    again = call(api, "POST", "/v1/templates", t, PORTRAIT, headers=headers)
    assert first[0] == again[0] == 201
    assert first[1] == again[1] and again[2]["Idempotent-Replayed"] == "true"
    status, err, _ = call(api, "POST", "/v1/templates", t, {**PORTRAIT, "name": "another"}, headers=headers)
    assert status == 409 and err["error"]["code"] == "idempotency_conflict"
    _, page, _ = call(api, "GET", "/v1/templates?scope=workspace", t)
    assert [x["id"] for x in page["data"]] == [first[1]["template"]["id"]]
    assert call(api, "POST", "/v1/templates", t, PORTRAIT, headers={"Idempotency-Key": "tpl-create-2"})[0] == 201


def test_malformed_bodies_on_the_template_routes_are_refused(api, make_tenant):
    t = make_tenant()
    made = _create(api, t)
    deep = '{"a":' * 65 + "1" + "}" * 65
    routes = (("POST", "/v1/templates"), ("PATCH", f"/v1/templates/{made['id']}"), ("POST", f"/v1/templates/{made['id']}/render"))
    for method, path in routes:
        for raw in ("{not json", "[]", "null", "   ", '"text"', deep):
            status, err, _ = call(api, method, path, t, raw=raw)
            assert status == 400 and err["error"]["code"] == "invalid_request", (method, path, raw[:10], err)
        status, err, _ = call(api, method, path, t, raw='{"name": "' + "x" * (1024 * 1024) + '"}')
        assert status == 413 and err["error"]["code"] == "payload_too_large"
    _, page, _ = call(api, "GET", "/v1/templates?scope=workspace", t)
    assert [(x["id"], x["version"]) for x in page["data"]] == [(made["id"], 1)]
