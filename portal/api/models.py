"""The department systems allowed to use the back-office API, and where events are pushed.

An API client holds only a hash of its secret; the secret is shown once, when the
client is created. A webhook endpoint holds a random seed, not its signing secret: the
secret is derived from the seed and the portal's ``SECRET_KEY`` whenever a delivery is
signed, so a copy of the database alone signs nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.database import utcnow
from portal.extensions import db

SCOPES = ("submissions:read", "submissions:write", "personal:my_number")
WEBHOOK_EVENTS = ("submission.received", "submission.status_changed")


class ApiClient(db.Model):  # type: ignore[name-defined]
    """A department's system: which departments' submissions it sees and what it may do."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # The public half of the credential, e.g. ``mdc_3f9a…``; never contains a dot.
    client_id: Mapped[str] = mapped_column(String(36), unique=True)
    # ``scrypt$<n>$<r>$<p>$<salt>$<hash>``: the cost travels with the hash.
    secret_hash: Mapped[str] = mapped_column(String(200))
    departments: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    endpoints: Mapped[list[WebhookEndpoint]] = relationship(
        back_populates="client", order_by="WebhookEndpoint.id"
    )

    @property
    def actor(self) -> str:
        """How the timeline and the audit log name this client."""
        return f"api:{self.client_id}"


class WebhookEndpoint(db.Model):  # type: ignore[name-defined]
    """A URL of a client's system that is sent the events it subscribed to, signed."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Named apart from ``ApiClient.client_id``, the public credential string.
    api_client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret_seed: Mapped[str] = mapped_column(String(64))
    events: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    client: Mapped[ApiClient] = relationship(back_populates="endpoints")
