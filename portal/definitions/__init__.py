"""The procedure engine: load, validate and evaluate the YAML definitions in `procedures/`.

Pure Python on purpose (no Flask, no database): the same code serves the web pages,
the back office, the command line linter and the tests.
"""
