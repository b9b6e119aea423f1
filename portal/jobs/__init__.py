"""Work that runs after the request: jobs recorded in its transaction, run once it commits."""
