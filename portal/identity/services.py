"""Sign-in rules: who a verified ID token is, the user it becomes, and server-side sessions.

A session follows the OWASP session management rules: the browser holds only a long
random token (the database keeps its SHA-256), a new token is issued at every sign-in,
the session ends after 30 minutes without activity and 12 hours after sign-in
whatever happens, and signing out revokes it on the server so a copied cookie is
worthless. These functions take the database session and the time explicitly, so
they serve views, commands and tests alike; none of them commits.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.identity.models import STAFF_ROLES, User, UserSession
from portal.identity.tokens import SignInError, VerifiedClaims

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# Sliding the idle expiry writes to the database; once a minute is precise enough.
TOUCH_INTERVAL = timedelta(minutes=1)
# How long before the idle timeout the page script warns the resident.
WARNING_BEFORE = timedelta(minutes=2)
MAX_USER_AGENT_LENGTH = 200
MAX_DISPLAY_NAME_LENGTH = 200
_MAX_DEPARTMENTS = 50
_MAX_DEPARTMENT_LENGTH = 80


@dataclass(frozen=True)
class Identity:
    """Who a verified ID token says signed in, in the portal's terms."""

    issuer: str
    subject: str
    role: str
    display_name: str
    person_key: str | None = None
    departments: tuple[str, ...] = ()
    # Where notices go: only an address the provider says it has verified.
    email: str | None = None


MAX_EMAIL_LENGTH = 254


def _verified_email(claims: Mapping[str, Any]) -> str | None:
    """The ``email`` claim when ``email_verified`` is true and it looks like an address."""
    email = claims.get("email")
    if claims.get("email_verified") is not True or not isinstance(email, str):
        return None
    email = email.strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or len(email) > MAX_EMAIL_LENGTH:
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in email):
        return None
    return email


def _display_name(claims: Mapping[str, Any]) -> str:
    """The name to greet the user with: ``name``, else family and given name, else blank."""
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("family_name"), claims.get("given_name")]
        name = " ".join(part for part in parts if isinstance(part, str) and part.strip())
    return " ".join(name.split())[:MAX_DISPLAY_NAME_LENGTH]


def resident_identity(claims: VerifiedClaims, person_claim: str) -> Identity:
    """A resident's identity; the register key comes from the configured claim.

    Whatever roles the token may claim, a resident sign-in never makes staff.
    """
    return Identity(
        issuer=claims.issuer,
        subject=claims.subject,
        role="resident",
        display_name=_display_name(claims.claims),
        person_key=claims.person_key(person_claim),
        email=_verified_email(claims.claims),
    )


def _string_list(value: object) -> tuple[str, ...] | None:
    """A claim holding one string or a list of strings, as a tuple; None for anything else."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


def staff_identity(claims: VerifiedClaims, roles_claim: str, departments_claim: str) -> Identity:
    """A clerk's or admin's identity from the staff provider's role and department claims.

    Raises SignInError ``no_staff_role`` when the token grants neither role, and
    ``invalid_departments`` when the departments claim is not a list of short codes.
    """
    roles = _string_list(claims.claims.get(roles_claim)) or ()
    if "admin" in roles:
        role = "admin"
    elif "clerk" in roles:
        role = "clerk"
    else:
        raise SignInError("no_staff_role")
    raw_departments = claims.claims.get(departments_claim, [])
    departments = _string_list(raw_departments)
    if (
        departments is None
        or len(departments) > _MAX_DEPARTMENTS
        or not all(0 < len(code) <= _MAX_DEPARTMENT_LENGTH for code in departments)
    ):
        raise SignInError("invalid_departments")
    return Identity(
        issuer=claims.issuer,
        subject=claims.subject,
        role=role,
        display_name=_display_name(claims.claims),
        departments=tuple(dict.fromkeys(departments)),
    )


def sign_in_user(session: Session, identity: Identity, *, language: str, now: datetime) -> User:
    """Find the user by (issuer, subject) or create them, refreshing what the provider says.

    A resident never becomes staff and staff never become a resident through a later
    sign-in (``role_conflict``): the two kinds of account are kept apart even when one
    provider serves both. A disabled account is refused (``account_disabled``). When
    an administrator set a staff member's role and departments in the portal, those
    stay; the provider's claims are only noted, for when the person is handed back.
    """
    user = session.scalars(
        select(User).where(User.issuer == identity.issuer, User.subject == identity.subject)
    ).one_or_none()
    staff = identity.role in STAFF_ROLES
    if user is None:
        user = User(
            issuer=identity.issuer,
            subject=identity.subject,
            role=identity.role,
            created_at=now,
            display_name="",
            departments=[],
            preferred_language=language,
        )
        session.add(user)
    elif user.disabled:
        raise SignInError("account_disabled")
    elif user.is_staff != staff:
        raise SignInError("role_conflict")
    assignment = user.assignment if staff else None
    if assignment is not None:
        assignment.claimed_role = identity.role
        assignment.claimed_departments = list(identity.departments)
        user.role = assignment.role
        user.departments = list(assignment.departments)
    else:
        user.role = identity.role
        user.departments = list(identity.departments)
    user.person_key = identity.person_key
    user.email = identity.email
    user.display_name = identity.display_name or user.display_name
    user.preferred_language = language
    user.last_signed_in_at = now
    session.flush()
    return user


_BROWSERS = (
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def summarise_user_agent(header: str) -> str:
    """A short "browser on system" for the user's list of sessions, not a fingerprint."""
    browser = next((name for marker, name in _BROWSERS if marker in header), "another browser")
    system = next((name for marker, name in _SYSTEMS if marker in header), "another system")
    return f"{browser} on {system}"


def hash_token(token: str) -> str:
    """The database id of the session a cookie token names."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(
    session: Session, user: User, *, id_token: str | None, user_agent: str, now: datetime
) -> str:
    """Create a session for a user who just signed in and return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            id=hash_token(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            idle_expires_at=now + IDLE_TIMEOUT,
            absolute_expires_at=now + ABSOLUTE_TIMEOUT,
            id_token=id_token,
            user_agent=user_agent[:MAX_USER_AGENT_LENGTH],
        )
    )
    return token


@dataclass(frozen=True)
class SessionState:
    """What a cookie token is worth now: ``status`` and, when active, the session."""

    status: str  # "active", "idle_timeout", "absolute_timeout", "revoked" or "unknown"
    session: UserSession | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


def find_session(session: Session, token: str, *, now: datetime) -> SessionState:
    """Look up the session a cookie token names and say whether it still holds."""
    row = session.get(UserSession, hash_token(token))
    if row is None:
        return SessionState("unknown")
    # Disabling an account revokes its sessions too; this holds even for one that a
    # concurrent sign-in started in between.
    if row.revoked_at is not None or row.user.disabled:
        return SessionState("revoked")
    if now >= row.absolute_expires_at:
        return SessionState("absolute_timeout")
    if now >= row.idle_expires_at:
        return SessionState("idle_timeout")
    return SessionState("active", row)


def touch_due(row: UserSession, now: datetime) -> bool:
    """Whether the idle expiry should slide now (at most once a minute)."""
    return now - row.last_seen_at >= TOUCH_INTERVAL


def touch_session(session: Session, session_id: str, *, now: datetime) -> datetime | None:
    """Slide a live session's idle expiry to 30 minutes from now; return it, or None if dead.

    The update names the conditions of a live session itself, so a sign-out that
    happened in between is never undone.
    """
    row = session.get(UserSession, session_id)
    if row is None:
        return None
    idle_expires_at = min(now + IDLE_TIMEOUT, row.absolute_expires_at)
    result = session.execute(
        update(UserSession)
        .where(
            UserSession.id == session_id,
            UserSession.revoked_at.is_(None),
            UserSession.idle_expires_at > now,
            UserSession.absolute_expires_at > now,
        )
        .values(last_seen_at=now, idle_expires_at=idle_expires_at)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    session.expire(row)
    return idle_expires_at


def revoke_session(session: Session, token: str, *, now: datetime) -> UserSession | None:
    """End the session a cookie token names, on the server; None if unknown or already ended."""
    row = session.get(UserSession, hash_token(token))
    if row is None or row.revoked_at is not None:
        return None
    row.revoked_at = now
    return row


def revoke_user_sessions(session: Session, user_id: int, *, now: datetime) -> int:
    """End every live session of one user on the server; return how many were ended."""
    result = session.execute(
        update(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.absolute_expires_at > now,
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def live_sessions(session: Session, user_id: int, *, now: datetime) -> list[UserSession]:
    """A user's sessions that still hold now, newest first."""
    return list(
        session.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.idle_expires_at > now,
                UserSession.absolute_expires_at > now,
            )
            .order_by(UserSession.created_at.desc())
        )
    )
