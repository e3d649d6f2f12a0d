"""The Smart ARENA hook: the connection and one typed method per documented call.

Layers, bottom up:

* the transport (``hooks/_transport.py``) — one HTTP exchange with the bearer token, pacing,
  retries, body limits, the mapping of an answer to a result or an exception, and scrubbing;
  public as :meth:`SmartArenaHook.request`, which returns a :class:`~airflow_provider_smartarena.hooks.Reply`;
* the generic layer (``hooks/_generic.py``) — :meth:`~SmartArenaHook.call`,
  :meth:`~SmartArenaHook.iter_pages`, :meth:`~SmartArenaHook.list_records`,
  :meth:`~SmartArenaHook.create_record` ... — which validates with :meth:`Endpoint.prepare
  <airflow_provider_smartarena.resources.Endpoint.prepare>` before anything is sent;
* here, the connection and one thin typed method per documented call, with keyword arguments
  named as the API names them.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
import requests
from airflow.providers.common.compat.sdk import BaseHook, mask_secret

from airflow_provider_smartarena import DEFAULT_CONN_ID
from airflow_provider_smartarena.exceptions import (
    SmartArenaInputError,
)
from airflow_provider_smartarena.hooks import _settle
from airflow_provider_smartarena.hooks._config import ConnectionSettings, read_settings
from airflow_provider_smartarena.hooks._form import connection_form_widgets, ui_field_behaviour
from airflow_provider_smartarena.hooks._generic import GenericCalls, Outcome
from airflow_provider_smartarena.hooks._paging import Page
from airflow_provider_smartarena.hooks._retry import (
    RetryPolicy,
)
from airflow_provider_smartarena.hooks._secrets import Scrubber
from airflow_provider_smartarena.hooks._token import TokenManager
from airflow_provider_smartarena.hooks._transport import (
    TLS_FIX_HINT,
    TOKEN_PATH,
    Call,
    Reply,
    Transport,
)
from airflow_provider_smartarena.resources import (
    ADD_COURSE_USERS,
    BRANCHES,
    CONTENT,
    COURSES,
    LOCATIONS,
    QUALIFICATIONS,
    REMOVE_COURSE_USERS,
    RENAME_COURSE,
    USER_COURSES,
    USERS,
    WORKPLACES,
)

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

#: Where :meth:`SmartArenaHook.probe` finds the probe (a name, not an import: see there).
_PROBE_MODULE = "airflow_provider_smartarena.probe"
#: What :meth:`SmartArenaHook.probe` returns: ``airflow_provider_smartarena.probe.model.ProbeReport``.
ProbeReport = Any


T = TypeVar("T")
R = TypeVar("R")

__all__ = ["TLS_FIX_HINT", "TOKEN_PATH", "Outcome", "Page", "Reply", "SmartArenaHook"]


def _arguments_as_api_fields(scope: Mapping[str, Any], **renames: str) -> dict[str, Any]:
    """A typed method's arguments (its ``locals()``) as the API's fields.

    The typed methods spell out every field as a keyword argument for IDEs and type checkers;
    passing ``locals()`` on keeps their bodies from repeating the list. ``self`` is dropped, and
    ``renames`` maps an argument to the API's field where the names differ
    (``updated_after="updated_at"``). Call it first thing in the method, before any other local.

    :param scope: the calling method's ``locals()``.
    :param renames: argument name -> API field name.
    """
    return {renames.get(k, k): v for k, v in scope.items() if k not in ("self", "__class__")}


class SmartArenaHook(BaseHook, GenericCalls):
    """Talk to the Smart ARENA REST API.

    The connection gives the base URL (host), the OAuth2 client id (login) and client secret
    (password); extras ``timezone``, ``timeout``, ``verify_ssl``, ``max_retries``, ``page_size`` and
    ``allow_insecure_http`` tune it (strings such as ``"true"`` or ``"30"`` are accepted).

    The hook is safe to share between threads: one pooled :class:`requests.Session`, one token
    renewed by one thread at a time.

    **Retries.** Connection errors, timeouts, 429 and 5xx are retried up to ``max_retries`` times
    with full-jitter exponential backoff, or after the server's ``Retry-After``. A 401 renews the
    token once and resends. Redirects are not followed (a 302 would turn a POST into a GET): they
    fail with :class:`SmartArenaResponseError` naming the target.

    **Writes.** Every write is retried, because every documented write can be made safe:

    * PUT (update by ``mapping_code``) and the enrolment POSTs (``addusers``/``removeusers``, set
      operations) give the same end state however often they run;
    * a create or a rename may have taken effect although its answer was lost (connection dropped
      after sending, read timeout, 5xx). Only then, if the retry is refused (duplicate
      ``mapping_code``, or old code not found), the platform is read back: the call succeeds when
      the record holds exactly the values sent (rename: new code present, old code gone), and the
      refusal is raised otherwise. A failure certain to be before sending (connection refused,
      connect timeout) or a 429 (refused before any work) never triggers this;
    * a DELETE whose retry gets 404 after such an uncertain attempt has done its job.

    :param smartarena_conn_id: the Airflow connection id.
    :param timeout: seconds each request may take in all (connect and whole body); overrides the
        ``timeout`` extra.
    :param max_retries: retries after the first attempt; overrides the ``max_retries`` extra.
    :param page_size: records per page, sent as ``per_page`` on paged endpoints; overrides the extra.
    :param retry_backoff: base of the exponential backoff, seconds (full jitter).
    :param retry_max_wait: cap on any single backoff wait between attempts, seconds.
    :param max_retry_wait: the longest ``Retry-After`` (429 or 503) waited for, seconds; overrides
        the ``max_retry_wait`` extra (default 120). A longer one fails the call at once with an
        error saying what the server asked.
    :param rate_limit_window: the period, seconds, over which the server's ``X-RateLimit-Limit``
        counts (Laravel's default throttle: 60 requests per 60 s); used to pace requests.
    :param max_pages: hard cap on the pages one listing may fetch (a guard against runaway servers).
    :param pool_maxsize: connections kept alive in the session's pool (at least any concurrency used).
    :param logger_name: see :class:`BaseHook`.
    :param kwargs: accepted so ``Connection.get_hook(hook_params=...)`` never breaks; unknown ones
        are logged and ignored.
    """

    conn_name_attr = "smartarena_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "smartarena"
    hook_name = "Smart ARENA"

    def __init__(
        self,
        smartarena_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        page_size: int | None = None,
        retry_backoff: float = 1.0,
        retry_max_wait: float = 30.0,
        max_retry_wait: float | None = None,
        rate_limit_window: float = 60.0,
        max_pages: int = 100_000,
        pool_maxsize: int = 32,
        logger_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(logger_name=logger_name)
        self.smartarena_conn_id = smartarena_conn_id
        self._overrides = {
            "timeout": timeout,
            "max_retries": max_retries,
            "page_size": page_size,
            "max_retry_wait": max_retry_wait,
        }
        self._retry_backoff = retry_backoff
        self._retry_max_wait = retry_max_wait
        self.max_pages = max_pages
        self.pool_maxsize = pool_maxsize
        self._transport = Transport(self, rate_limit_window=rate_limit_window)
        if kwargs:
            self.log.warning("SmartArenaHook ignores unknown arguments: %s", ", ".join(sorted(kwargs)))
        self._probing = False

    @classmethod
    def hook_param_names(cls) -> tuple[str, ...]:
        """The arguments an operator's ``hook_params`` may set: the keyword-only ones of ``__init__``."""
        signature = inspect.signature(cls.__init__)
        keyword_only = inspect.Parameter.KEYWORD_ONLY
        # logger_name only renames log lines; the task's logger is Airflow's business.
        return tuple(
            name
            for name, param in signature.parameters.items()
            if param.kind is keyword_only and name != "logger_name"
        )

    @classmethod
    def check_hook_params(cls, hook_params: Mapping[str, Any] | None) -> dict[str, Any]:
        """``hook_params`` as keyword arguments of the hook, checked before any request.

        The one place operators, sensors and transfers validate what they pass through (the
        hook itself only logs unknown arguments, so that ``Connection.get_hook`` never breaks).

        :param hook_params: hook arguments, e.g. ``{"max_retry_wait": 300}``; None for none.
        :raises SmartArenaInputError: not a mapping, or a key the hook does not take (the error
            names ``hook_params`` and lists the allowed keys).
        """
        if hook_params is None:
            return {}
        allowed = cls.hook_param_names()
        if not isinstance(hook_params, Mapping):
            raise SmartArenaInputError(
                "hook_params", f"got {type(hook_params).__name__}", f"a dict with keys {', '.join(allowed)}"
            )
        unknown = sorted(str(key) for key in hook_params if key not in allowed)
        if unknown:
            raise SmartArenaInputError(
                "hook_params", f"unknown key(s) {', '.join(unknown)}", ", ".join(allowed)
            )
        return dict(hook_params)

    @classmethod
    def for_task(
        cls, smartarena_conn_id: str, hook_params: Mapping[str, Any] | None = None
    ) -> SmartArenaHook:
        """The hook an operator, sensor or transfer works with (see :meth:`check_hook_params`).

        :param smartarena_conn_id: the Airflow connection id.
        :param hook_params: the task's ``hook_params``.
        """
        return cls(smartarena_conn_id, **cls.check_hook_params(hook_params))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(smartarena_conn_id={self.smartarena_conn_id!r})"

    # ---------------------------------------------------------------- connection & configuration

    @cached_property
    def settings(self) -> ConnectionSettings:
        """The connection, read once and checked (raises :class:`SmartArenaConfigError`)."""
        conn = self.get_connection(self.smartarena_conn_id)
        if conn.password:
            mask_secret(conn.password)
            self._scrubber.add(conn.password)
        settings = read_settings(
            host=conn.host,
            port=conn.port,
            schema=conn.schema,
            login=conn.login,
            password=conn.password,
            extras=conn.extra_dejson,
            overrides=self._overrides,
        )
        if settings.verify is False:
            self.log.warning(
                "TLS certificate verification is off for connection %s (verify_ssl=false): "
                "the server's identity is not checked.",
                self.smartarena_conn_id,
            )
        return settings

    @property
    def timezone(self) -> ZoneInfo:
        """The server's time zone (connection extra ``timezone``, default UTC)."""
        return self.settings.timezone

    @property
    def base_url(self) -> str:
        """The API base URL without a trailing slash, e.g. ``https://esmartarena.com``."""
        return self.settings.base_url

    @property
    def page_size(self) -> int | None:
        """Records per page requested from paged endpoints, or None for the server's default."""
        return self.settings.page_size

    @property
    def retry_policy(self) -> RetryPolicy:
        """Retries and waits in force (none while :meth:`test_connection` runs)."""
        retries = 0 if self._probing else self.settings.max_retries
        return RetryPolicy(max_retries=retries, backoff=self._retry_backoff, max_wait=self._retry_max_wait)

    def get_conn(self) -> requests.Session:
        """Return the hook's one pooled, configured session, creating it on first use.

        The hook's own calls go out on this session's connection pools (its adapter decides TLS
        and proxies, its response hooks run), without ``Session.request``'s per-call work. Mount
        another adapter, set ``auth`` or cookies on it, and they go through ``Session.request``.

        :raises SmartArenaConfigError: the connection is unusable (e.g. ``http://`` to a remote host).
        """
        return self._transport.get_conn()

    def close(self) -> None:
        """Close the session's pooled connections; the hook creates a new session if used again."""
        self._transport.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        authenticated: bool = True,
        error_body: bool = True,
    ) -> Reply:
        """Send one call to the API and return its :class:`~airflow_provider_smartarena.hooks.Reply`.

        The layer beneath the typed calls, for what they do not cover (a raw envelope, the
        headers, an endpoint the provider does not model). Nothing is validated against the API
        model; everything else is as for the typed calls: the bearer token (renewed once on a 401),
        pacing, retries of connection errors, 429 and 5xx, the body read within
        ``max_response_bytes`` and ``timeout``, errors mapped to provider exceptions with every
        secret scrubbed. A write is retried too, but not settled by reading back: use the typed
        calls for creates and renames.

        :param method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
        :param path: the path below the base URL, e.g. ``/api/users``.
        :param params: the query string (values as requests sends them).
        :param json: the JSON body.
        :param authenticated: send the bearer token (False only for the token endpoint itself).
        :param error_body: raise :class:`SmartArenaResponseError` for a 2xx body that is an error
            in disguise (``{"error": ...}``, ``{"success": false}``).
        :raises SmartArenaError: a subclass naming the call, for every failure.
        """
        if method not in ("GET", "POST", "PUT", "DELETE"):
            raise SmartArenaInputError("method", f"got {method!r}", "GET, POST, PUT, DELETE")
        if not isinstance(path, str) or not path.startswith("/") or "://" in path:
            raise SmartArenaInputError("path", f"got {path!r}", "a path starting with '/', e.g. /api/users")
        call = Call(method, path, params=params, json_body=json, authenticated=authenticated)
        return self._transport.request(call, error_body=error_body)

    def new_token(self) -> float | None:
        """Fetch a fresh access token now, dropping any cached one; return its lifetime.

        For a check of the credentials and of the token's lifetime (the probe's token check):
        the typed calls and :meth:`request` fetch and renew the token on their own.

        :return: the ``expires_in`` the server gave, seconds (None when it gave none).
        :raises SmartArenaAuthError: the client credentials were refused.
        :raises SmartArenaError: another failure of the token request.
        """
        self._tokens.clear()
        self._tokens.get()
        return self._tokens.expires_in

    @property
    def token_requests(self) -> int:
        """Token requests this hook has made so far (renewals and failed attempts included)."""
        return self._transport.token_requests

    def scrub(self, text: str) -> str:
        """``text`` with every secret this hook knows replaced by ``***``.

        The known secrets are the client secret (once the connection is read) and every token
        issued to the hook; the hook's own errors are already scrubbed, this is for texts a
        caller composes from them or from answers.

        :param text: any text.
        """
        scrubbed: str = self._scrubber.scrub(text)
        return scrubbed

    @property
    def _verify(self) -> bool | str:
        return self._transport.verify

    @property
    def _tokens(self) -> TokenManager:
        return self._transport.tokens

    @property
    def _scrubber(self) -> Scrubber:
        return self._transport.scrubber

    def _send(self, method: str, path: str, **kwargs: Any) -> tuple[Any, str | None]:
        """One call through the transport: its parsed body and ``Date`` header."""
        return self._transport.send(Call(method, path, **kwargs))

    def __enter__(self) -> SmartArenaHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def test_connection(self) -> tuple[bool, str]:
        """Fetch a token and read each list endpoint once (a filter that matches nothing).

        Bad credentials, an unreachable host and a TLS failure are told apart. No retries are
        made, so the answer comes quickly. This is the short form of :meth:`probe`.
        """
        self._probing = True
        try:
            return self.probe(short=True).connection_test()
        finally:
            self._probing = False

    def probe(self, *, short: bool = False) -> ProbeReport:
        """Check the tenant against the provider's assumptions, read-only.

        See :mod:`airflow_provider_smartarena.probe` and the ``smartarena-probe`` command.

        :param short: only a token and one cheap read per endpoint.
        """
        # The probe is built on the hook, so the hook must not import it: looked up by name at call
        # time, which keeps the package's import graph free of a hook <-> probe cycle.
        probe: Callable[..., ProbeReport] = importlib.import_module(_PROBE_MODULE).probe
        return probe(self, short=short)

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the Airflow 2 connection form (Airflow 3 uses ``conn-fields``)."""
        return connection_form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Relabel and hide the standard fields, as declared once in ``get_provider_info()``."""
        return ui_field_behaviour(cls.conn_type)

    # ---------------------------------------------------------------- users

    def get_users(self, mapping_code: str | None = None, email: str | None = None) -> list[dict[str, Any]]:
        """``GET /api/users``: all users, or those matching ``mapping_code`` / ``email``."""
        return self.list_records(USERS, **_arguments_as_api_fields(locals()))

    def get_user(self, mapping_code: str) -> dict[str, Any] | None:
        """The user with exactly this ``mapping_code``, or None."""
        return self.get_record(USERS, mapping_code)

    def create_user(
        self,
        mapping_code: str,
        email: str,
        firstname: str,
        lastname: str,
        *,
        date_of_birth: Any = None,
        branch_mapping_code: str | None = None,
        location_mapping_code: str | None = None,
        workplace_mapping_code: str | None = None,
        username: str | None = None,
        password: str | None = None,
        language_code: Any = None,
        register_mail: Any = None,
        roles: Any = None,
        synch_protected: Any = None,
    ) -> dict[str, Any]:
        """``POST /api/users``: create a user.

        :param date_of_birth: ``date``, pendulum Date or ``"yyyy-mm-dd"``.
        :param language_code: :class:`~airflow_provider_smartarena.enums.Language`, int or name.
        :param register_mail: send the registration e-mail now (bool, 0/1).
        :param roles: a list of :class:`~airflow_provider_smartarena.enums.Role` (ints or names).
        :param synch_protected: protect the user from being overwritten through the API (bool, 0/1).
        """
        return self.create_record(USERS, _arguments_as_api_fields(locals()))

    def update_user(
        self,
        mapping_code: str,
        *,
        email: str | None = None,
        firstname: str | None = None,
        lastname: str | None = None,
        date_of_birth: Any = None,
        branch_mapping_code: str | None = None,
        location_mapping_code: str | None = None,
        workplace_mapping_code: str | None = None,
        username: str | None = None,
        password: str | None = None,
        language_code: Any = None,
        roles: Any = None,
        synch_protected: Any = None,
    ) -> dict[str, Any]:
        """``PUT /api/users``: update the given fields of a user (None = unchanged)."""
        return self.update_record(USERS, _arguments_as_api_fields(locals()))

    def delete_user(self, mapping_code: str, delete_mode: Any = None) -> dict[str, Any]:
        """``DELETE /api/users``; ``delete_mode`` is a :class:`DeleteMode` (server default FULL)."""
        return self.delete_record(USERS, mapping_code, delete_mode=delete_mode)

    # ---------------------------------------------------------------- branches (org units)

    def get_branches(self, mapping_code: str | None = None) -> list[dict[str, Any]]:
        """``GET /api/branches``: all organisational units, or the one matching ``mapping_code``."""
        return self.list_records(BRANCHES, mapping_code=mapping_code)

    def get_branch(self, mapping_code: str) -> dict[str, Any] | None:
        """The organisational unit with exactly this ``mapping_code``, or None."""
        return self.get_record(BRANCHES, mapping_code)

    def create_branch(self, mapping_code: str, parent_mapping_code: str, name: str) -> dict[str, Any]:
        """``POST /api/branches``: create an organisational unit under ``parent_mapping_code``."""
        return self.create_record(BRANCHES, _arguments_as_api_fields(locals()))

    def update_branch(
        self, mapping_code: str, *, parent_mapping_code: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        """``PUT /api/branches``: move and/or rename an organisational unit."""
        return self.update_record(BRANCHES, _arguments_as_api_fields(locals()))

    def delete_branch(self, mapping_code: str) -> dict[str, Any]:
        """``DELETE /api/branches``."""
        return self.delete_record(BRANCHES, mapping_code)

    # ---------------------------------------------------------------- locations

    def get_locations(self, mapping_code: str | None = None) -> list[dict[str, Any]]:
        """``GET /api/locations``: all locations, or the one matching ``mapping_code``."""
        return self.list_records(LOCATIONS, mapping_code=mapping_code)

    def get_location(self, mapping_code: str) -> dict[str, Any] | None:
        """The location with exactly this ``mapping_code``, or None."""
        return self.get_record(LOCATIONS, mapping_code)

    def create_location(self, mapping_code: str, name: str) -> dict[str, Any]:
        """``POST /api/locations``."""
        return self.create_record(LOCATIONS, _arguments_as_api_fields(locals()))

    def update_location(self, mapping_code: str, *, name: str | None = None) -> dict[str, Any]:
        """``PUT /api/locations``."""
        return self.update_record(LOCATIONS, _arguments_as_api_fields(locals()))

    def delete_location(self, mapping_code: str) -> dict[str, Any]:
        """``DELETE /api/locations``."""
        return self.delete_record(LOCATIONS, mapping_code)

    # ---------------------------------------------------------------- workplaces

    def get_workplaces(self, mapping_code: str | None = None) -> list[dict[str, Any]]:
        """``GET /api/workplaces``: all workplaces, or the one matching ``mapping_code``."""
        return self.list_records(WORKPLACES, mapping_code=mapping_code)

    def get_workplace(self, mapping_code: str) -> dict[str, Any] | None:
        """The workplace with exactly this ``mapping_code``, or None."""
        return self.get_record(WORKPLACES, mapping_code)

    def create_workplace(self, mapping_code: str, name: str) -> dict[str, Any]:
        """``POST /api/workplaces``."""
        return self.create_record(WORKPLACES, _arguments_as_api_fields(locals()))

    def update_workplace(self, mapping_code: str, *, name: str | None = None) -> dict[str, Any]:
        """``PUT /api/workplaces``."""
        return self.update_record(WORKPLACES, _arguments_as_api_fields(locals()))

    def delete_workplace(self, mapping_code: str) -> dict[str, Any]:
        """``DELETE /api/workplaces``."""
        return self.delete_record(WORKPLACES, mapping_code)

    # ---------------------------------------------------------------- qualification groups

    def get_qualifications(self, mapping_code: str | None = None) -> list[dict[str, Any]]:
        """``GET /api/qualifications``: all qualification groups, or the one matching ``mapping_code``."""
        return self.list_records(QUALIFICATIONS, mapping_code=mapping_code)

    def get_qualification(self, mapping_code: str) -> dict[str, Any] | None:
        """The qualification group with exactly this ``mapping_code``, or None."""
        return self.get_record(QUALIFICATIONS, mapping_code)

    def create_qualification(self, mapping_code: str, parent_mapping_code: str, name: str) -> dict[str, Any]:
        """``POST /api/qualifications``."""
        return self.create_record(QUALIFICATIONS, _arguments_as_api_fields(locals()))

    def update_qualification(
        self, mapping_code: str, *, parent_mapping_code: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        """``PUT /api/qualifications``."""
        return self.update_record(QUALIFICATIONS, _arguments_as_api_fields(locals()))

    def delete_qualification(self, mapping_code: str) -> dict[str, Any]:
        """``DELETE /api/qualifications``."""
        return self.delete_record(QUALIFICATIONS, mapping_code)

    # ---------------------------------------------------------------- courses

    def iter_courses(
        self, mapping_code: str | None = None, archived: Any = None, sort: Any = None, type: Any = None
    ) -> Iterator[dict[str, Any]]:
        """``GET /api/courses``, streamed page by page.

        :param archived: include archived courses (bool, 0/1; the server's default is 1).
        :param sort: :class:`~airflow_provider_smartarena.enums.Sort` or ``"date_desc"``/``"date_asc"``.
        :param type: :class:`~airflow_provider_smartarena.enums.CourseFilterType` (1, 5, 254, 253).
        """
        return self.iter_records(COURSES.list, **_arguments_as_api_fields(locals()))

    def get_courses(
        self, mapping_code: str | None = None, archived: Any = None, sort: Any = None, type: Any = None
    ) -> list[dict[str, Any]]:
        """``GET /api/courses``: every page, as a list (see :meth:`iter_courses`)."""
        return self.list_records(COURSES, **_arguments_as_api_fields(locals()))

    def get_course(self, mapping_code: str) -> dict[str, Any] | None:
        """The course with exactly this ``mapping_code``, or None."""
        return self.get_record(COURSES, mapping_code)

    def create_course(
        self,
        mapping_code: str,
        title: str,
        start_date: Any,
        *,
        end_date: Any = None,
        type: Any = None,
        assessment_on_end: Any = None,
        number_of_attempts: int | None = None,
        assessment_show_questions_at_end: Any = None,
        mandatory_time: int | None = None,
        prerequired_content: int | None = None,
        instructor_mapping_code: str | None = None,
        content_id: int | None = None,
        confirmation_of_completion: Any = None,
        access_days_from_enrollment: int | None = None,
        users_mapping_codes: Any = None,
    ) -> dict[str, Any]:
        """``POST /api/courses``: create a course, optionally enrolling users.

        :param start_date: ``date``, pendulum Date or ``"yyyy-mm-dd"`` (also ``end_date``).
        :param type: :class:`~airflow_provider_smartarena.enums.CourseType` (1 e-course, 2 blended, 3 live).
        :param users_mapping_codes: mapping codes of users to enrol.
        """
        return self.create_record(COURSES, _arguments_as_api_fields(locals()))

    def update_course(
        self,
        mapping_code: str,
        *,
        title: str | None = None,
        start_date: Any = None,
        end_date: Any = None,
        type: Any = None,
        assessment_on_end: Any = None,
        number_of_attempts: int | None = None,
        assessment_show_questions_at_end: Any = None,
        mandatory_time: int | None = None,
        prerequired_content: int | None = None,
        instructor_mapping_code: str | None = None,
        content_id: int | None = None,
        confirmation_of_completion: Any = None,
        access_days_from_enrollment: int | None = None,
    ) -> dict[str, Any]:
        """``PUT /api/courses``: update the given fields of a course (None = unchanged)."""
        return self.update_record(COURSES, _arguments_as_api_fields(locals()))

    def delete_course(self, mapping_code: str, delete_mode: Any = None) -> dict[str, Any]:
        """``DELETE /api/courses``; ``delete_mode`` 1 soft, 2 permanent (server default)."""
        return self.delete_record(COURSES, mapping_code, delete_mode=delete_mode)

    def add_course_users(self, mapping_code: str, users_mapping_codes: Any) -> dict[str, Any]:
        """``POST /api/courses/addusers``: enrol users (a set operation, so retried safely)."""
        return self._post(ADD_COURSE_USERS, _arguments_as_api_fields(locals()))

    def remove_course_users(self, mapping_code: str, users_mapping_codes: Any) -> dict[str, Any]:
        """``POST /api/courses/removeusers``: unenrol users (a set operation, so retried safely)."""
        return self._post(REMOVE_COURSE_USERS, _arguments_as_api_fields(locals()))

    def rename_course(self, old_mapping_code: str, new_mapping_code: str) -> dict[str, Any]:
        """``POST /api/coursemappingcode``: change a course's mapping code.

        Retried like a create: if a retry after an uncertain failure is refused, the course is
        looked up, and the rename counts as done when ``new`` exists and ``old`` does not.
        """
        params = RENAME_COURSE.prepare(_arguments_as_api_fields(locals()), tz=self.timezone)
        settle = functools.partial(
            _settle.settle_rename, self.get_course, params["old_mapping_code"], params["new_mapping_code"]
        )
        return self._write(RENAME_COURSE, params, settle)

    # ---------------------------------------------------------------- content & activities

    def get_content(self, content_type: Any = None) -> list[dict[str, Any]]:
        """``GET /api/content``; ``content_type`` None all, 0 internal, 1 public."""
        return list(self.iter_records(CONTENT, **_arguments_as_api_fields(locals())))

    def iter_user_courses(
        self,
        updated_after: Any = None,
        date_finished: Any = None,
        user_mapping_code: str | None = None,
        type: Any = None,
        modules_data: Any = True,
    ) -> Iterator[dict[str, Any]]:
        """``GET /api/usercourses``: stream user activities on courses, page by page.

        :param updated_after: only activities changed strictly after this datetime (sent as the
            API's ``updated_at``); naive values are in the server's time zone, aware ones converted.
        :param date_finished: only activities completed after this date or datetime.
        :param user_mapping_code: only this user's activities.
        :param type: :class:`~airflow_provider_smartarena.enums.CourseFilterType` (1, 5, 254, 253).
        :param modules_data: include course modules (the server's default).
        """
        return self.iter_records(
            USER_COURSES, **_arguments_as_api_fields(locals(), updated_after="updated_at")
        )

    def iter_user_course_pages(
        self,
        updated_after: Any = None,
        date_finished: Any = None,
        user_mapping_code: str | None = None,
        type: Any = None,
        modules_data: Any = True,
        max_concurrency: int = 1,
        record_type: type[msgspec.Struct] | None = None,
    ) -> Iterator[Page]:
        """Like :meth:`iter_user_courses`, page by page (see :meth:`iter_pages` for
        ``max_concurrency`` and ``record_type``)."""
        values = _arguments_as_api_fields(locals(), updated_after="updated_at")
        return self.iter_pages(
            USER_COURSES,
            max_concurrency=values.pop("max_concurrency"),
            record_type=values.pop("record_type"),
            **values,
        )
