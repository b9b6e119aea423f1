"""Import every package's models so that the metadata and migrations see all tables."""

from portal.audit import models as audit_models
from portal.catalogue import models as catalogue_models
from portal.resident import models as resident_models

__all__ = ["audit_models", "catalogue_models", "resident_models"]
