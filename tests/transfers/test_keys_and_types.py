"""Issue 17 items 2 and 5: keys compare exactly, and columns hold whatever the API may send.

Run on SQLite, PostgreSQL and MariaDB. Keys are compared byte for byte as the API sends them:
case, accents, trailing spaces and Unicode normalisation (NFC ``josé`` vs NFD ``josé``) all make
distinct keys. A table that would merge them is refused before anything is written.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from airflow_provider_smartarena.transfers._dialects import SmartArenaTableError
from airflow_provider_smartarena.transfers._loader import SmartArenaLoadError
from tests.hook.scripted import connection_json
from tests.transfers import _operators
from tests.transfers._operators import extract
from tests.transfers._scripted_api import ScriptedApi, activity
from tests.transfers.conftest import Warehouse

NFC = unicodedata.normalize("NFC", "rt-josé")
NFD = unicodedata.normalize("NFD", "rt-josé")
#: Codes a case-, accent-, pad- or normalisation-insensitive comparison would merge.
CODES = ["rt-ana", "RT-ANA", NFC, "rt-jose", NFD, "x", "x "]


@pytest.fixture
def platform(scripted: Any, monkeypatch: pytest.MonkeyPatch) -> ScriptedApi:
    api = ScriptedApi(per_page=50)
    server = scripted(api.route)
    monkeypatch.setenv("AIRFLOW_CONN_SCRIPTED", connection_json(server.url, max_retries=1))
    return api


def snapshot(warehouse: Warehouse) -> dict[str, Any]:
    """One snapshot of the locations, marking what the platform no longer has."""
    return _operators.snapshot(warehouse, mark_deleted=True)


# ---------------------------------------------------------------------- key comparison


def test_keys_differing_in_case_accent_trailing_space_or_normalisation_stay_distinct(
    warehouse: Warehouse, platform: ScriptedApi
) -> None:
    platform.listings["/api/locations"] = [{"mapping_code": c, "name": f"name of {c!r}"} for c in CODES]

    summary = snapshot(warehouse)

    rows = warehouse.rows("smartarena_locations")
    assert summary["rows_written"] == len(CODES)
    assert {r["mapping_code"]: r["name"] for r in rows} == {c: f"name of {c!r}" for c in CODES}

    snapshot(warehouse)  # a second run upserts each onto itself and marks none deleted
    rows = warehouse.rows("smartarena_locations")
    assert len(rows) == len(CODES)
    assert all(r["_deleted_at"] is None for r in rows)


def test_activity_keys_differing_only_in_case_stay_distinct(
    warehouse: Warehouse, platform: ScriptedApi
) -> None:
    records = [activity(n, user_mapping_code=code) for n, code in enumerate(CODES, 1)]
    for record in records:
        record["course_mapping_code"] = "c-1"
    platform.listings["/api/usercourses"] = records

    extract(warehouse)

    rows = warehouse.rows("smartarena_user_courses")
    assert {r["user_mapping_code"]: int(r["status"]) for r in rows} == {
        r["user_mapping_code"]: r["status"] for r in records
    }


def _insensitive_table(warehouse: Warehouse) -> tuple[str, str]:
    """Create an old-style locations table whose key merges keys; return (DDL clause, what it ignores)."""
    name = warehouse.name("smartarena_locations")
    if warehouse.kind == "mariadb":
        clause, ignores = "VARCHAR(255) COLLATE utf8mb4_general_ci", "case"
    elif warehouse.kind == "postgres":
        warehouse.execute(
            f"CREATE COLLATION {warehouse.namespace}.ci (provider = icu, locale = 'und-u-ks-level2', "
            "deterministic = false)"
        )
        clause, ignores = f"TEXT COLLATE {warehouse.namespace}.ci", "nondeterministic"
    else:
        clause, ignores = "TEXT COLLATE NOCASE", "NOCASE"
    warehouse.execute(
        f"CREATE TABLE {name} (mapping_code {clause} NOT NULL, name TEXT, PRIMARY KEY (mapping_code))"
    )
    warehouse.execute(f"INSERT INTO {name} (mapping_code, name) VALUES ('rt-ana', 'kept')")
    return name, ignores


def test_an_existing_table_whose_key_merges_keys_is_refused_before_any_write(
    warehouse: Warehouse, platform: ScriptedApi
) -> None:
    name, ignores = _insensitive_table(warehouse)
    platform.listings["/api/locations"] = [{"mapping_code": c, "name": "new"} for c in CODES]

    with pytest.raises(SmartArenaTableError) as info:
        snapshot(warehouse)

    message = str(info.value)
    assert name in message
    assert "mapping_code" in message
    assert ignores in message
    if warehouse.kind != "sqlite":
        assert f"ALTER TABLE {name}" in message
    assert warehouse.rows("smartarena_locations") == [{"mapping_code": "rt-ana", "name": "kept"}]


@pytest.mark.parametrize("warehouse", ["mariadb"], indirect=True)
@pytest.mark.parametrize(
    ("collation", "ignores"),
    [
        ("utf8mb4_bin", "trailing spaces"),  # binary, but PAD SPACE: 'x' = 'x '
        ("utf8mb4_unicode_ci", "case and accents"),
        ("utf8mb4_nopad_bin", None),
    ],
)
def test_mariadb_key_collations_are_judged_by_what_they_merge(
    warehouse: Warehouse, platform: ScriptedApi, collation: str, ignores: str | None
) -> None:
    name = warehouse.name("smartarena_locations")
    warehouse.execute(
        f"CREATE TABLE {name} (mapping_code VARCHAR(255) COLLATE {collation} NOT NULL, name TEXT, "
        "PRIMARY KEY (mapping_code)) DEFAULT CHARSET=utf8mb4"
    )
    platform.listings["/api/locations"] = [{"mapping_code": c, "name": c} for c in CODES]
    if ignores is None:
        snapshot(warehouse)  # an exact collation is fine, whoever created the table
        assert len(warehouse.rows("smartarena_locations")) == len(CODES)
        return
    with pytest.raises(SmartArenaTableError, match=f"{collation} ignores {ignores}") as info:
        snapshot(warehouse)
    assert f"ALTER TABLE {name} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin" in str(info.value)
    warehouse.execute(f"ALTER TABLE {name} CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin")
    snapshot(warehouse)  # the fix the message gives works
    assert len(warehouse.rows("smartarena_locations")) == len(CODES)


@pytest.mark.parametrize("warehouse", ["postgres"], indirect=True)
def test_a_postgres_char_key_which_pads_is_refused(warehouse: Warehouse, platform: ScriptedApi) -> None:
    name = warehouse.name("smartarena_locations")
    warehouse.execute(f"CREATE TABLE {name} (mapping_code CHAR(40) NOT NULL PRIMARY KEY, name TEXT)")
    with pytest.raises(SmartArenaTableError, match="CHAR\\(n\\)"):
        snapshot(warehouse)


# ---------------------------------------------------------------------- column types


def test_a_megabyte_title_a_long_key_and_a_nul_are_stored(
    warehouse: Warehouse, platform: ScriptedApi
) -> None:
    title = "Ł" * 1_000_000  # 1 MB of text, 2 MB of UTF-8
    long_user = "u" * 380  # within every database's key (384 characters a column on MariaDB)
    platform.listings["/api/usercourses"] = [
        activity(1, course_title=title),
        activity(2, user_mapping_code=long_user),
        activity(3, course_title="before\x00after"),
    ]

    summary = extract(warehouse)

    assert summary["rows_written"] == 3
    rows = {r["user_mapping_code"]: r for r in warehouse.rows("smartarena_user_courses")}
    assert rows["u-00001"]["course_title"] == title
    assert long_user in rows
    # PostgreSQL text cannot hold NUL: it is stripped there (documented); the others keep it.
    assert rows["u-00003"]["course_title"] == (
        "beforeafter" if warehouse.kind == "postgres" else "before\x00after"
    )


@pytest.mark.parametrize("warehouse", ["mariadb"], indirect=True)
def test_a_key_longer_than_mariadb_can_index_fails_naming_the_record_and_field(
    warehouse: Warehouse, platform: ScriptedApi
) -> None:
    platform.listings["/api/usercourses"] = [activity(n) for n in range(1, 11)]
    platform.listings["/api/usercourses"][6]["user_mapping_code"] = "k" * 400

    with pytest.raises(SmartArenaLoadError) as info:
        extract(warehouse, batch_size=50)

    message = str(info.value)
    assert "record (user_mapping_code='kkkk" in message
    assert "course_mapping_code='c-1'" in message
    assert "field 'user_mapping_code'" in message
    assert "384 characters" in message
    assert warehouse.state() == []  # the state never moved


@pytest.mark.parametrize("warehouse", ["mariadb"], indirect=True)
def test_an_existing_table_with_narrow_text_keeps_working_and_names_a_row_it_cannot_hold(
    warehouse: Warehouse, platform: ScriptedApi
) -> None:
    """A table created by an earlier version (``TEXT`` titles, VARCHAR(255) binary keys)."""
    name = warehouse.name("smartarena_user_courses")
    warehouse.execute(
        f"CREATE TABLE {name} (user_mapping_code VARCHAR(255) NOT NULL, course_mapping_code VARCHAR(255) "
        "NOT NULL, course_title TEXT, PRIMARY KEY (user_mapping_code, course_mapping_code)) "
        "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin"
    )
    platform.listings["/api/usercourses"] = [activity(n) for n in range(1, 21)]
    assert extract(warehouse)["rows_written"] == 20

    platform.listings["/api/usercourses"][4]["course_title"] = "t" * 70_000  # TEXT holds 65,535 bytes
    platform.listings["/api/usercourses"][4]["updated_at"] = "2024-05-02 00:00:00"
    with pytest.raises(SmartArenaLoadError) as info:
        extract(warehouse, mode="full_refresh")

    message = str(info.value)
    assert "record (user_mapping_code='u-00005', course_mapping_code='c-2')" in message
    assert "field 'course_title'" in message
    assert f"ALTER TABLE {name} MODIFY course_title LONGTEXT" in message


@pytest.mark.parametrize("warehouse", ["mariadb"], indirect=True)
@pytest.mark.parametrize("forced", ["staged", "merge"])
def test_a_forced_upsert_keeps_the_databases_exact_keys(
    warehouse: Warehouse, platform: ScriptedApi, forced: str
) -> None:
    platform.listings["/api/locations"] = [{"mapping_code": c, "name": c} for c in CODES]
    if forced == "merge":  # MariaDB has no MERGE: only the DDL and the check matter here
        name, _ = _insensitive_table(warehouse)
        with pytest.raises(SmartArenaTableError):
            _operators.snapshot(warehouse, table=name, sql_dialect=forced)
        return
    _operators.snapshot(warehouse, sql_dialect=forced)
    assert len(warehouse.rows("smartarena_locations")) == len(CODES)
    collations = warehouse.query(
        "SELECT DISTINCT COLLATION_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? "
        "AND COLLATION_NAME IS NOT NULL",
        (warehouse.namespace,),
    )
    assert [r["c"] for r in collations] == ["utf8mb4_nopad_bin"]


@pytest.mark.parametrize("warehouse", ["mariadb"], indirect=True)
def test_a_non_strict_mariadb_session_does_not_cut_long_keys_to_fit(
    warehouse: Warehouse, platform: ScriptedApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server configured without a strict sql_mode would cut two long keys to the same prefix
    (one row, a warning); the loader makes its session strict, so that is an error naming the record."""
    from airflow.providers.mysql.hooks.mysql import MySqlHook

    connect = MySqlHook.get_conn

    def lax(self: MySqlHook) -> Any:
        connection = connect(self)
        cursor = connection.cursor()
        cursor.execute("SET SESSION sql_mode = ''")
        cursor.close()
        return connection

    monkeypatch.setattr(MySqlHook, "get_conn", lax)
    prefix = "k" * 384
    platform.listings["/api/usercourses"] = [
        activity(1, user_mapping_code=prefix + "-one"),
        activity(2, user_mapping_code=prefix + "-two"),
    ]
    for record in platform.listings["/api/usercourses"]:
        record["course_mapping_code"] = "c-1"

    with pytest.raises(SmartArenaLoadError, match="field 'user_mapping_code'"):
        extract(warehouse)
    assert warehouse.query(f"SELECT COUNT(*) AS n FROM {warehouse.name('smartarena_user_courses')}") == [
        {"n": 0}
    ]
