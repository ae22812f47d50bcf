"""avaloc: human-centric spatio-temporal action localization in the AVA format."""

__version__ = "0.1.0"
