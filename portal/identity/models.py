"""Users who signed in through an OpenID provider, their server-side sessions, and the
staff roles an administrator set in the portal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.database import utcnow
from portal.extensions import db

ROLES = ("resident", "clerk", "admin")
STAFF_ROLES = ("clerk", "admin")


class User(db.Model):  # type: ignore[name-defined]
    """A person known to the portal by the (issuer, subject) pair their provider vouches for.

    Residents carry the key of their record in the city's registers (from the claim
    ``OIDC_PERSON_CLAIM`` names); staff carry the departments they work for instead.
    """

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("issuer", "subject"),
        CheckConstraint("role IN ('resident', 'clerk', 'admin')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    person_key: Mapped[str | None] = mapped_column(String(80), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    # A resident's verified email address from the identity provider, for notices.
    email: Mapped[str | None] = mapped_column(String(254))
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    preferred_language: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_signed_in_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by an administrator: the account may not sign in and has no live session.
    disabled_at: Mapped[datetime | None]

    assignment: Mapped[StaffAssignment | None] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


class StaffAssignment(db.Model):  # type: ignore[name-defined]
    """A staff member's role and departments as an administrator set them in the portal.

    While this row exists a sign-in keeps ``role`` and ``departments`` whatever the
    staff provider claims; the claims are still recorded (``claimed_*``) so that
    handing the person back to the provider restores them at once. The provider still
    decides who is staff at all: a token with no staff role is refused as before.
    """

    __tablename__ = "staff_assignments"
    __table_args__ = (
        CheckConstraint("role IN ('clerk', 'admin')", name="role"),
        CheckConstraint("claimed_role IN ('clerk', 'admin')", name="claimed_role"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20))
    departments: Mapped[list[str]] = mapped_column(JSON)
    claimed_role: Mapped[str] = mapped_column(String(20))
    claimed_departments: Mapped[list[str]] = mapped_column(JSON)
    # The audit actor of the administrator who set it, e.g. ``user:12``.
    set_by: Mapped[str] = mapped_column(String(120))
    set_at: Mapped[datetime]

    user: Mapped[User] = relationship(back_populates="assignment")


class UserSession(db.Model):  # type: ignore[name-defined]
    """One signed-in browser: revocable on the server, ended by inactivity or by age.

    The id is the SHA-256 of the random token in the browser's cookie, so a copy of
    this table does not let anyone take over a session.
    """

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime]
    idle_expires_at: Mapped[datetime]
    absolute_expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]
    # The provider's ID token, kept only as the hint its logout endpoint asks for.
    id_token: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship(lazy="joined")
