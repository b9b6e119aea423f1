"""Once-only records: the city's registers, the adapters that read them, the demo registers."""
