"""The ``avaloc`` command line: one module per verb, each a thin layer over the Python API.

A verb module ``avaloc.cli.<verb>`` defines ``register(subparsers)``, which adds its parser and
sets ``func`` (called with the parsed namespace, returning an exit code). Verbs are discovered
automatically, so adding a command never edits a shared list.
"""
