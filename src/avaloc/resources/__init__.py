"""Data files shipped with avaloc (the quickstart\x27s embedded default config)."""
