"""Import every package's models so that the metadata and migrations see all tables."""

from portal.admin import models as admin_models
from portal.api import models as api_models
from portal.audit import models as audit_models
from portal.backoffice import models as backoffice_models
from portal.catalogue import models as catalogue_models
from portal.identity import models as identity_models
from portal.jobs import models as jobs_models
from portal.records import models as records_models
from portal.resident import models as resident_models

__all__ = [
    "admin_models",
    "api_models",
    "audit_models",
    "backoffice_models",
    "catalogue_models",
    "identity_models",
    "jobs_models",
    "records_models",
    "resident_models",
]
