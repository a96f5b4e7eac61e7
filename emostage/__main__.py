"""`python -m emostage` runs the CLI."""

from emostage.cli import app

app()
