"""Retention: residents' personal data is kept for the period its procedure says, no longer."""
