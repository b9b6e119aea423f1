"""A dependency that can be down, slow or up at one fixed address, for the fault tests.

A register API, a webhook receiver or any other HTTP service the portal calls is
served by ``SwitchableServer``. It binds its port when it is made but does not listen,
so connections are refused (the service is down) until ``start``; while ``slow`` it
holds every request for the given time before answering.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from sqlalchemy import delete, select, update
from werkzeug.serving import BaseWSGIServer, make_server

from portal.database import utcnow
from portal.extensions import db
from portal.jobs.models import Job

HOST = "127.0.0.1"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def empty_tables(app: Flask) -> None:
    """Remove every row the test left and close the app's connections (as ``app`` does)."""
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(delete(table))
        db.engine.dispose()


def jobs_of(app: Flask, kind: str) -> list[Job]:
    """The jobs of ``kind``, oldest first, detached from the session."""
    with app.app_context():
        jobs = list(db.session.scalars(select(Job).where(Job.kind == kind).order_by(Job.id)))
        db.session.expunge_all()
        return jobs


def make_due(app: Flask, kind: str) -> None:
    """Let the time pass until the pending jobs of ``kind`` are due to be tried again."""
    with app.app_context():
        db.session.execute(
            update(Job).where(Job.kind == kind, Job.status == "pending").values(run_after=utcnow())
        )
        db.session.commit()


class SwitchableServer:
    """A WSGI app on a port that is refused, slow or answering, as the test says."""

    def __init__(self, wsgi_app: WsgiApp | None = None) -> None:
        # Settable later: an app may need the server's address before it can be built.
        self.app = wsgi_app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((HOST, 0))
        self.port: int = self._socket.getsockname()[1]
        self._delay = 0.0
        self._released = threading.Event()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _serve(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.requests += 1
        if self._delay:
            # Held until the delay is over or the test ends the slow spell.
            self._released.wait(self._delay)
        assert self.app is not None, "the server has no app to answer with"
        return self.app(environ, start_response)

    def start(self) -> SwitchableServer:
        """Listen and answer from now on."""
        self._socket.listen(16)
        self._server = make_server(
            HOST, self.port, self._serve, threaded=True, fd=self._socket.fileno()
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def slow(self, seconds: float) -> None:
        """Hold every request ``seconds`` before answering it."""
        self._released.clear()
        self._delay = seconds

    def prompt(self) -> None:
        """Answer at once again, releasing the requests held so far."""
        self._delay = 0.0
        self._released.set()

    def stop(self) -> None:
        self.prompt()
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
        self._socket.close()
