"""The administrator's pages: authoring, people and integrations, KPIs, the audit log.

Each page module adds its routes to the one `admin` blueprint; importing the package
imports them all.
"""

from portal.admin import (  # noqa: F401  (each module registers its routes)
    audit_views,
    authoring_views,
    integrations_views,
    kpi_views,
    people_views,
    views,
)
from portal.admin.blueprint import bp

__all__ = ["bp"]
