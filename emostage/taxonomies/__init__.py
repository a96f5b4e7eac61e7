"""Built-in phase taxonomies (YAML package data)."""
