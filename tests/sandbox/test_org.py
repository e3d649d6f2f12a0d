"""/api/branches, /api/qualifications (trees), /api/locations and /api/workplaces."""

from __future__ import annotations

import pytest

from .conftest import Api, records


@pytest.mark.parametrize("kind", ["branches", "qualifications"])
def test_tree_has_a_root(read_api: Api, kind: str) -> None:
    nodes = records(read_api.ok(read_api.get(f"/api/{kind}")))
    roots = [n for n in nodes if n["parent_mapping_code"] is None]
    assert [r["mapping_code"] for r in roots] == ["root"]
    codes = {n["mapping_code"] for n in nodes}
    assert all(n["parent_mapping_code"] in codes for n in nodes if n is not roots[0])


def test_branch_tree_is_several_levels_deep(read_api: Api) -> None:
    nodes = {n["mapping_code"]: n for n in records(read_api.ok(read_api.get("/api/branches")))}

    def depth(code: str) -> int:
        parent = nodes[code]["parent_mapping_code"]
        return 0 if parent is None else 1 + depth(parent)

    assert max(depth(code) for code in nodes) >= 3


@pytest.mark.parametrize("kind", ["branches", "qualifications"])
def test_tree_crud(api: Api, kind: str) -> None:
    path = f"/api/{kind}"
    top = api.ok(api.post(path, {"mapping_code": "t1", "parent_mapping_code": "root", "name": "Top"}), 201)[
        "data"
    ]
    assert top["parent_mapping_code"] == "root"
    api.ok(api.post(path, {"mapping_code": "t2", "parent_mapping_code": "t1", "name": "Child"}), 201)
    assert records(api.ok(api.get(path, mapping_code="t2")))[0]["name"] == "Child"
    moved = api.ok(api.put(path, {"mapping_code": "t2", "parent_mapping_code": "root", "name": "Moved"}))[
        "data"
    ]
    assert (moved["parent_mapping_code"], moved["name"]) == ("root", "Moved")
    api.ok(api.delete(path, {"mapping_code": "t2"}))
    api.ok(api.delete(path, {"mapping_code": "t1"}))
    assert records(api.ok(api.get(path, mapping_code="t1"))) == []


@pytest.mark.parametrize("kind", ["branches", "qualifications"])
def test_tree_errors(api: Api, kind: str) -> None:
    path = f"/api/{kind}"
    api.ok(api.post(path, {"mapping_code": "t1", "parent_mapping_code": "root", "name": "Top"}), 201)
    api.ok(api.post(path, {"mapping_code": "t2", "parent_mapping_code": "t1", "name": "Child"}), 201)
    missing = api.post(path, {"mapping_code": "t3", "name": "No parent"})
    assert "parent_mapping_code" in missing.json()["errors"]
    unknown = api.post(path, {"mapping_code": "t3", "parent_mapping_code": "nope", "name": "X"})
    assert "parent_mapping_code" in unknown.json()["errors"]
    duplicate = api.post(path, {"mapping_code": "t1", "parent_mapping_code": "root", "name": "X"})
    assert "mapping_code" in duplicate.json()["errors"]
    cycle = api.put(path, {"mapping_code": "t1", "parent_mapping_code": "t2"})
    assert cycle.status_code == 422
    assert api.delete(path, {"mapping_code": "t1"}).status_code == 422  # still has a child
    assert api.delete(path, {"mapping_code": "root"}).status_code == 422
    assert api.put(path, {"mapping_code": "nope", "name": "X"}).status_code == 404
    assert api.delete(path, {"mapping_code": "nope"}).status_code == 404


def test_branch_with_users_cannot_be_deleted(api: Api) -> None:
    branch = api.server.state("users")[0]["branch_mapping_code"]
    response = api.delete("/api/branches", {"mapping_code": branch})
    assert response.status_code == 422
    assert "mapping_code" in response.json()["errors"]


@pytest.mark.parametrize("kind", ["locations", "workplaces"])
def test_flat_crud(api: Api, kind: str) -> None:
    path = f"/api/{kind}"
    created = api.ok(api.post(path, {"mapping_code": "n1", "name": "Novo mesto"}), 201)["data"]
    assert set(created) == {"mapping_code", "name", "created_at", "updated_at"}
    assert api.ok(api.put(path, {"mapping_code": "n1", "name": "Kranj"}))["data"]["name"] == "Kranj"
    assert api.post(path, {"mapping_code": "n1", "name": "Again"}).status_code == 422
    assert api.post(path, {"mapping_code": "n2"}).status_code == 422
    assert api.put(path, {"mapping_code": "nope", "name": "X"}).status_code == 404
    api.ok(api.delete(path, {"mapping_code": "n1"}))
    assert api.delete(path, {"mapping_code": "n1"}).status_code == 404


@pytest.mark.parametrize(("kind", "field"), [("locations", "location"), ("workplaces", "workplace")])
def test_deleting_a_location_detaches_its_users(api: Api, kind: str, field: str) -> None:
    users = [u for u in api.server.state("users") if u[f"{field}_mapping_code"]]
    code = users[0][f"{field}_mapping_code"]
    api.ok(api.delete(f"/api/{kind}", {"mapping_code": code}))
    assert all(u[f"{field}_mapping_code"] != code for u in api.server.state("users"))


def test_deleting_a_qualification_detaches_courses(api: Api) -> None:
    parents = {q["parent_mapping_code"] for q in api.server.state("qualifications")}
    used = [c["qualification_mapping_code"] for c in api.server.state("courses")]
    code = next(q for q in used if q and q not in parents)
    api.ok(api.delete("/api/qualifications", {"mapping_code": code}))
    assert all(c["qualification_mapping_code"] != code for c in api.server.state("courses"))
