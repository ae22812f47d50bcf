"""Data files shipped with avaloc: the quickstart's embedded default config."""
