"""Who is signed in on this request, and the helpers other views use to ask.

The Flask session cookie (signed, HttpOnly, SameSite=Lax) carries only the session
token, the CSRF token, the key of the browser's drafts and, briefly, a pending
sign-in. Before each request the token is looked up in ``user_sessions``, with the
user, in one query of the request's own transaction: a revoked, unknown or expired
session means signed out, and an expired one leaves a note so that the next sign-in
can say why. The once-a-minute slide of the idle expiry is a write of its own on a
GET, so a GET stays a read-only transaction and never waits for the SQLite write lock.

Public API: ``current_user()``, ``current_session()``, ``login_required(role=...)``,
``owner_key_for(user)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from sqlalchemy.orm import Session

from portal.database import set_write_intent, utcnow
from portal.extensions import db
from portal.identity import services
from portal.identity.models import STAFF_ROLES, User
from portal.security import SAFE_METHODS, safe_redirect_target

SESSION_TOKEN_KEY = "user_session"  # noqa: S105 - the name of a session entry, not a secret
SIGNED_OUT_KEY = "signed_out_reason"
RUNTIME_KEY = "madoguchi.identity.runtime"
# Endpoints that never show who is signed in: files, probes and the demo provider.
_ANONYMOUS_ENDPOINT_PREFIXES = ("static", "health.", "demo_idp.")

View = TypeVar("View", bound=Callable[..., Any])


@dataclass
class IdentityRuntime:
    """Per-app state of sign-in; ``clock`` is the time sessions are measured by."""

    clock: Callable[[], datetime] = utcnow


@dataclass(frozen=True)
class ActiveSession:
    """The live session of this request, as it was read at its start."""

    id: str
    user_id: int
    role: str
    idle_expires_at: datetime
    absolute_expires_at: datetime

    @property
    def ends_at(self) -> datetime:
        """When the session ends unless the user does something (never after the absolute end)."""
        return min(self.idle_expires_at, self.absolute_expires_at)

    @property
    def seconds_left(self) -> int:
        """Seconds until the end; the page script counts from this, whatever its clock says."""
        return max(0, int((self.ends_at - now()).total_seconds()))

    @property
    def warning_seconds(self) -> int:
        """How long before the end the page script warns that the session is ending."""
        return int(services.WARNING_BEFORE.total_seconds())


def now() -> datetime:
    """The current time by the app's session clock (tests move it)."""
    return current_app.extensions[RUNTIME_KEY].clock()  # type: ignore[no-any-return]


def current_session() -> ActiveSession | None:
    """The signed-in session of this request, or None."""
    return g.get("identity_session")


def current_user() -> User | None:
    """The signed-in user of this request (``g.user``), or None."""
    return g.get("user")


def owner_key_for(user: User) -> str:
    """The owner key of a signed-in resident's drafts (a browser's are ``browser:…``)."""
    return f"user:{user.id}"


def _draft_owner_session_key() -> str:
    # Imported here: the resident views may come to use this module's helpers.
    from portal.resident.views import OWNER_SESSION_KEY

    return OWNER_SESSION_KEY


def _sign_in_endpoint(roles: tuple[str, ...]) -> str:
    staff_only = all(role in STAFF_ROLES for role in roles)
    return "identity.show_staff_sign_in" if staff_only else "identity.show_sign_in"


def login_required(role: str | tuple[str, ...] = "resident") -> Callable[[View], View]:
    """Let only a signed-in user with one of ``role`` in; others sign in, or get 403.

    Someone not signed in is sent to the sign-in page for that role (staff roles to
    the staff sign-in) and comes back to the page they asked for; someone signed in
    with another role gets 403.
    """
    roles = (role,) if isinstance(role, str) else tuple(role)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                target = request.full_path.rstrip("?") if request.method in SAFE_METHODS else "/"
                next_target = safe_redirect_target(target)
                return redirect(url_for(_sign_in_endpoint(roles), next=next_target), code=303)
            if user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


@dataclass(frozen=True)
class _Lookup:
    """What a cookie token was worth at the start of the request, with its user when live."""

    status: str
    active: ActiveSession | None = None
    user: User | None = None


def _lookup(token: str, moment: datetime) -> _Lookup:
    """Read the session a token names, with its user, in the request's own transaction."""
    state = services.find_session(db.session, token, now=moment)
    if state.session is None:
        return _Lookup(state.status)
    row = state.session
    user = row.user  # loaded with the session row (a joined relationship)
    active = ActiveSession(
        id=row.id,
        user_id=row.user_id,
        role=user.role,
        idle_expires_at=row.idle_expires_at,
        absolute_expires_at=row.absolute_expires_at,
    )
    if services.touch_due(row, moment):
        idle_expires_at = _slide_idle_expiry(active.id, moment)
        if idle_expires_at is None:  # revoked or expired between the read and the write
            return _Lookup("revoked")
        active = replace(active, idle_expires_at=idle_expires_at)
    return _Lookup("active", active, user)


def _slide_idle_expiry(session_id: str, moment: datetime) -> datetime | None:
    """Slide a session's idle expiry (at most once a minute); None if it ended meanwhile.

    A GET slides it in a short write of its own, so the request stays a read-only
    transaction and never waits for the SQLite write lock. A request that writes holds
    that lock already, so it slides it in its own transaction: the slide lasts when the
    request commits, and the next request slides it again when it does not.
    """
    if request.method not in SAFE_METHODS:
        return services.touch_session(db.session, session_id, now=moment)
    set_write_intent(True)
    try:
        with Session(db.engine, expire_on_commit=False) as writing:
            idle_expires_at = services.touch_session(writing, session_id, now=moment)
            writing.commit()
    finally:
        set_write_intent(False)
    return idle_expires_at


def _forget_foreign_drafts(active: ActiveSession | None) -> None:
    """Drop a signed-in user's draft key from a browser that is no longer theirs."""
    key = _draft_owner_session_key()
    owner = session.get(key)
    if not isinstance(owner, str) or not owner.startswith("user:"):
        return
    if active is None or owner != f"user:{active.user_id}":
        session.pop(key)


def load_signed_in_user() -> None:
    """Before each request: set ``g.user`` from a live session, or note why it ended."""
    endpoint = request.endpoint or ""
    if not endpoint or endpoint.startswith(_ANONYMOUS_ENDPOINT_PREFIXES):
        return
    token = session.get(SESSION_TOKEN_KEY)
    found = _Lookup("unknown")
    if isinstance(token, str):
        found = _lookup(token, now())
        if found.active is None:
            session.pop(SESSION_TOKEN_KEY)
            if found.status in ("idle_timeout", "absolute_timeout"):
                session[SIGNED_OUT_KEY] = found.status
    elif token is not None:
        session.pop(SESSION_TOKEN_KEY)
    active = found.active
    g.identity_session = active
    g.user = found.user
    _forget_foreign_drafts(active)


def init_app(app: Flask) -> None:
    """Load the signed-in user before every request and offer the helpers to templates."""
    app.extensions[RUNTIME_KEY] = IdentityRuntime()
    app.before_request(load_signed_in_user)
    app.jinja_env.globals.update(current_user=current_user, current_session=current_session)
