"""/api/users: list filters, create, update, delete, validation and protection."""

from __future__ import annotations

import pytest

from .conftest import Api, records

NEW_USER = {
    "mapping_code": "hr-1001",
    "email": "ana.novak@example.si",
    "firstname": "Ana",
    "lastname": "Novak",
    "branch_mapping_code": "br-001",
    "location_mapping_code": "loc-001",
    "workplace_mapping_code": "wp-001",
    "username": "ana.novak",
    "date_of_birth": "1990-07-22",
    "password": "s3cret-pass",
    "language_code": 3,
    "register_mail": 0,
    "roles": [4, 6],
    "synch_protected": 0,
}
USER_FIELDS = {
    *("mapping_code", "username", "email", "firstname", "lastname", "date_of_birth", "branch_mapping_code"),
    *("location_mapping_code", "workplace_mapping_code", "language_code", "roles", "synch_protected"),
    *("active", "deleted_at", "created_at", "updated_at"),
}


def test_list_returns_every_user_without_passwords(read_api: Api) -> None:
    body = read_api.ok(read_api.get("/api/users"))
    users = records(body)
    assert len(users) == len(read_api.server.state("users"))
    for user in users:
        assert set(user) == USER_FIELDS
        assert "password" not in user


def test_filters_by_mapping_code_and_email(read_api: Api) -> None:
    first = records(read_api.ok(read_api.get("/api/users")))[0]
    assert records(read_api.ok(read_api.get("/api/users", mapping_code=first["mapping_code"]))) == [first]
    assert records(read_api.ok(read_api.get("/api/users", email=first["email"].upper()))) == [first]
    assert records(read_api.ok(read_api.get("/api/users", mapping_code="no-such-user"))) == []


def test_create_then_read_back(api: Api) -> None:
    created = api.ok(api.post("/api/users", NEW_USER), 201)["data"]
    assert created["roles"] == [4, 6]
    assert "password" not in created
    listed = records(api.ok(api.get("/api/users", mapping_code="hr-1001")))
    assert listed == [created]
    assert created["created_at"] == created["updated_at"]
    truth = {u["mapping_code"]: u for u in api.server.state("users")}["hr-1001"]
    assert truth["has_password"] == 1


def test_create_from_form_and_query_string(api: Api) -> None:
    form = {**NEW_USER, "roles[]": ["4", "6"]}
    del form["roles"]
    response = api.session.post(f"{api.server.url}/api/users", data=form, timeout=10)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["roles"] == [4, 6]
    query = {"mapping_code": "q-1", "email": "q@example.si", "firstname": "Q", "lastname": "R"}
    assert api.session.post(f"{api.server.url}/api/users", params=query, timeout=10).status_code == 201


def test_body_wins_over_query_string(api: Api) -> None:
    response = api.post("/api/users", {**NEW_USER, "firstname": "Body"}, params={"firstname": "Query"})
    assert api.ok(response, 201)["data"]["firstname"] == "Body"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"mapping_code": None}, "mapping_code"),
        ({"email": None}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"firstname": ""}, "firstname"),
        ({"lastname": 5}, "lastname"),
        ({"date_of_birth": "22.07.1990"}, "date_of_birth"),
        ({"date_of_birth": "1990-02-30"}, "date_of_birth"),
        ({"language_code": 2}, "language_code"),
        ({"language_code": "en"}, "language_code"),
        ({"register_mail": 2}, "register_mail"),
        ({"synch_protected": "yes"}, "synch_protected"),
        ({"roles": 6}, "roles"),
        ({"roles": [6, 5]}, "roles.1"),
        ({"branch_mapping_code": "no-branch"}, "branch_mapping_code"),
        ({"location_mapping_code": "no-location"}, "location_mapping_code"),
        ({"workplace_mapping_code": "no-workplace"}, "workplace_mapping_code"),
    ],
)
def test_create_validation(api: Api, change: dict[str, object], field: str) -> None:
    response = api.post("/api/users", {**NEW_USER, **change})
    assert response.status_code == 422
    body = response.json()
    assert body["message"] == "The given data was invalid."
    assert field in body["errors"]
    assert all(isinstance(m, str) for m in body["errors"][field])


def test_duplicates_are_422(api: Api) -> None:
    api.ok(api.post("/api/users", NEW_USER), 201)
    again = api.post("/api/users", {**NEW_USER, "email": "other@example.si", "username": "other"})
    assert set(again.json()["errors"]) == {"mapping_code"}
    same_email = api.post(
        "/api/users", {**NEW_USER, "mapping_code": "x", "username": "x", "email": "ANA.novak@example.si"}
    )
    assert set(same_email.json()["errors"]) == {"email"}


def test_update_changes_only_given_fields(api: Api) -> None:
    before = api.ok(api.post("/api/users", NEW_USER), 201)["data"]
    api.server.clock(advance_seconds=5)
    after = api.ok(api.put("/api/users", {"mapping_code": "hr-1001", "lastname": "Kovač", "roles": [6]}))[
        "data"
    ]
    assert after["lastname"] == "Kovač"
    assert after["roles"] == [6]
    assert after["email"] == before["email"]
    assert after["updated_at"] > before["updated_at"]
    cleared = api.ok(api.put("/api/users", {"mapping_code": "hr-1001", "location_mapping_code": None}))[
        "data"
    ]
    assert cleared["location_mapping_code"] is None


def test_update_without_changes_keeps_updated_at(api: Api) -> None:
    before = api.ok(api.post("/api/users", NEW_USER), 201)["data"]
    api.server.clock(advance_seconds=5)
    after = api.ok(api.put("/api/users", {"mapping_code": "hr-1001", "firstname": "Ana"}))["data"]
    assert after == before


def test_update_and_delete_unknown_are_404(api: Api) -> None:
    assert api.put("/api/users", {"mapping_code": "nobody", "firstname": "X"}).status_code == 404
    assert api.delete("/api/users", {"mapping_code": "nobody"}).json() == {"message": "User not found."}
    assert api.put("/api/users", {"firstname": "X"}).status_code == 422


def test_protected_user_cannot_be_changed(api: Api) -> None:
    api.ok(api.post("/api/users", {**NEW_USER, "synch_protected": 1}), 201)
    assert api.put("/api/users", {"mapping_code": "hr-1001", "firstname": "X"}).status_code == 403
    assert api.put("/api/users", {"mapping_code": "hr-1001", "synch_protected": 0}).status_code == 403
    assert api.delete("/api/users", {"mapping_code": "hr-1001"}).status_code == 403
    assert records(api.ok(api.get("/api/users", mapping_code="hr-1001")))[0]["firstname"] == "Ana"


def test_partial_delete_deactivates(api: Api) -> None:
    api.ok(api.post("/api/users", NEW_USER), 201)
    api.ok(api.post("/api/courses/addusers", {"mapping_code": "c-0001", "users_mapping_codes": ["hr-1001"]}))
    api.ok(api.delete("/api/users", {"mapping_code": "hr-1001", "delete_mode": 1}))
    user = records(api.ok(api.get("/api/users", mapping_code="hr-1001")))[0]
    assert user["active"] == 0
    assert user["deleted_at"] is not None
    assert records(api.ok(api.get("/api/usercourses", user_mapping_code="hr-1001")))
    assert api.post("/api/users", NEW_USER).status_code == 422  # the mapping code stays taken


def test_full_delete_removes_user_and_activities(api: Api) -> None:
    code = "u-00001"
    assert records(api.ok(api.get("/api/usercourses", user_mapping_code=code)))
    api.ok(api.delete("/api/users", {"mapping_code": code}))  # delete_mode defaults to 2 (full)
    assert records(api.ok(api.get("/api/users", mapping_code=code))) == []
    assert records(api.ok(api.get("/api/usercourses", user_mapping_code=code))) == []
    assert all(code not in c["users"] for c in api.server.state("courses"))


def test_delete_mode_is_validated(api: Api) -> None:
    response = api.delete("/api/users", {"mapping_code": "u-00002", "delete_mode": 3})
    assert response.status_code == 422
    assert "delete_mode" in response.json()["errors"]


def test_delete_params_in_query_string(api: Api) -> None:
    response = api.session.delete(
        f"{api.server.url}/api/users", params={"mapping_code": "u-00002"}, timeout=10
    )
    assert response.status_code == 200
