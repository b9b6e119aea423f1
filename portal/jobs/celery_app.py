"""The Celery app of the portal, for ``celery -A portal.jobs.celery_app worker`` and ``beat``.

It builds the portal from the environment, as the app servers do, and needs
``JOBS_ENGINE=celery`` with ``CELERY_BROKER_URL``; the tasks and the relay's beat
schedule are the engine's (``portal/jobs/celery_engine.py``).
"""

from __future__ import annotations

from portal import create_app
from portal.jobs.celery_engine import celery_app_of

flask_app = create_app()
app = celery_app_of(flask_app)
