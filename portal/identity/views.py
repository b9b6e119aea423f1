"""Sign-in and sign-out for residents and staff, and keeping a session alive.

The flow is OpenID Connect's authorization code flow with PKCE (``providers``): the
sign-in button POSTs (so another site cannot start a sign-in in the visitor's name),
the pending state waits in the signed session cookie, and the provider's redirect
back is checked to the letter. Signing in clears the whole Flask session and issues a
new session token, so nothing planted before sign-in survives it, then hands the
browser's drafts to the user. Every failure shows the same polite page with status
400 and logs only a reason code.
"""

from __future__ import annotations

import logging
import secrets

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from portal.database import set_write_intent
from portal.extensions import db
from portal.i18n import current_language, to_local_time
from portal.identity import services
from portal.identity.auth import (
    SESSION_TOKEN_KEY,
    SIGNED_OUT_KEY,
    current_session,
    now,
    owner_key_for,
)
from portal.identity.models import User
from portal.identity.providers import CALLBACK_PATHS, identity_provider
from portal.identity.tokens import SignInError
from portal.resident.services import transfer_drafts
from portal.resident.views import OWNER_SESSION_KEY
from portal.security import safe_redirect_target

bp = Blueprint("identity", __name__)
log = logging.getLogger("portal.identity")

PENDING_KEY = "oidc_pending"
_CALLBACKS = {"resident": "identity.finish_sign_in", "staff": "identity.finish_staff_sign_in"}


def _failure(audience: str, error: SignInError) -> ResponseReturnValue:
    """The polite failure page; the reason code goes to the log, never to the page."""
    log.warning(
        "sign-in failed",
        extra={"reason": error.reason_code, "audience": audience, "detail": error.detail},
    )
    return render_template("identity/failure.html", audience=audience), 400


# Where each kind of user starts when the sign-in did not come from a page.
_STARTS = {"resident": "resident.show_dashboard", "staff": "backoffice.show_work_list"}


def _sign_in_page(audience: str) -> ResponseReturnValue:
    asked = request.args.get("next")
    return render_template(
        "identity/sign_in.html",
        audience=audience,
        next_target=safe_redirect_target(asked) if asked else url_for(_STARTS[audience]),
        signed_out_reason=session.get(SIGNED_OUT_KEY),
    )


def _start(audience: str) -> ResponseReturnValue:
    """Send the browser to the provider, remembering what the callback must check."""
    next_target = safe_redirect_target(request.form.get("next"))
    redirect_uri = url_for(_CALLBACKS[audience], _external=True)
    try:
        url, pending = identity_provider(audience).begin(redirect_uri)
    except SignInError as error:
        return _failure(audience, error)
    session[PENDING_KEY] = {"audience": audience, "authorization": pending, "next": next_target}
    return redirect(url, code=303)


def _establish_session(user: User, id_token: str, next_target: str) -> ResponseReturnValue:
    """Replace whatever the browser held with a fresh session for ``user``."""
    old_token = session.get(SESSION_TOKEN_KEY)
    old_owner = session.get(OWNER_SESSION_KEY)
    signed_out_reason = session.get(SIGNED_OUT_KEY)
    moment = now()
    if isinstance(old_token, str):
        services.revoke_session(db.session, old_token, now=moment)
    session.clear()
    token = services.start_session(
        db.session,
        user,
        id_token=id_token,
        user_agent=services.summarise_user_agent(request.headers.get("User-Agent", "")),
        now=moment,
    )
    if user.role == "resident":
        owner = owner_key_for(user)
        # Only anonymous drafts move: another user's drafts stay theirs.
        if isinstance(old_owner, str) and old_owner.startswith("browser:"):
            transfer_drafts(db.session, from_owner=old_owner, to_owner=owner)
        session[OWNER_SESSION_KEY] = owner
    session[SESSION_TOKEN_KEY] = token
    db.session.commit()
    if signed_out_reason in ("idle_timeout", "absolute_timeout"):
        flash(signed_out_reason, "signed_out")
    log.info("signed in", extra={"user_id": user.id, "role": user.role})
    return redirect(next_target, code=303)


def _finish(audience: str) -> ResponseReturnValue:
    """Complete the sign-in the provider sent the browser back from.

    A GET that changes state, as OAuth's redirect must be; ``state``, PKCE and the
    ``nonce`` make it answer only the sign-in this browser started.
    """
    pending = session.pop(PENDING_KEY, None)  # single use, whatever happens next
    try:
        repeated = [name for name in request.args if len(request.args.getlist(name)) > 1]
        if repeated:
            raise SignInError("repeated_parameter", detail=repeated[0][:40])
        if not isinstance(pending, dict) or pending.get("audience") != audience:
            raise SignInError("no_pending_sign_in")
        provider = identity_provider(audience)
        result = provider.complete(request.args.to_dict(), pending.get("authorization"))
        identity = provider.identity(result.claims)
        # From here on this GET writes: end the read-only transaction the request may
        # have begun and let the next one take the write lock at its start.
        db.session.rollback()
        set_write_intent(True)
        user = services.sign_in_user(db.session, identity, language=current_language(), now=now())
    except SignInError as error:
        db.session.rollback()
        return _failure(audience, error)
    return _establish_session(user, result.id_token, safe_redirect_target(pending.get("next")))


@bp.get("/sign-in")
def show_sign_in() -> ResponseReturnValue:
    return _sign_in_page("resident")


@bp.post("/sign-in")
def start_sign_in() -> ResponseReturnValue:
    return _start("resident")


@bp.get(CALLBACK_PATHS["resident"])
def finish_sign_in() -> ResponseReturnValue:
    return _finish("resident")


@bp.get("/staff/sign-in")
def show_staff_sign_in() -> ResponseReturnValue:
    return _sign_in_page("staff")


@bp.post("/staff/sign-in")
def start_staff_sign_in() -> ResponseReturnValue:
    return _start("staff")


@bp.get(CALLBACK_PATHS["staff"])
def finish_staff_sign_in() -> ResponseReturnValue:
    return _finish("staff")


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    """End the session on the server, forget the browser's state, then log out upstream."""
    token = session.get(SESSION_TOKEN_KEY)
    session.clear()
    target = url_for("site.show_home")
    if not isinstance(token, str):
        return redirect(target, code=303)
    row = services.revoke_session(db.session, token, now=now())
    if row is None:
        return redirect(target, code=303)
    audience = "staff" if row.user.is_staff else "resident"
    id_token, user_id, role = row.id_token, row.user_id, row.user.role
    db.session.commit()
    log.info("signed out", extra={"user_id": user_id, "role": role})
    if id_token:
        home = url_for("site.show_home", _external=True)
        try:
            logout = identity_provider(audience).logout_url(
                id_token, home, secrets.token_urlsafe(16)
            )
        except SignInError as error:
            log.warning("provider logout unavailable", extra={"reason": error.reason_code})
            logout = None
        target = logout or target
    return redirect(target, code=303)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


@bp.post("/session/extend")
def extend_session() -> ResponseReturnValue:
    """Keep the session alive for another 30 minutes and stay on the same page."""
    next_target = safe_redirect_target(request.form.get("next"))
    active = current_session()
    moment = now()
    ends_at = (
        services.touch_session(db.session, active.id, now=moment) if active is not None else None
    )
    if ends_at is None:
        if _wants_json():
            return jsonify(signed_in=False), 401
        return redirect(url_for("identity.show_sign_in", next=next_target), code=303)
    db.session.commit()
    if _wants_json():
        return jsonify(
            signed_in=True,
            seconds_left=int((ends_at - moment).total_seconds()),
            ends_at_local=to_local_time(ends_at).strftime("%H:%M"),
        )
    return redirect(next_target, code=303)
