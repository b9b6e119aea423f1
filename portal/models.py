"""Import every package's models so that the metadata and migrations see all tables."""

from portal.audit import models as audit_models

__all__ = ["audit_models"]
