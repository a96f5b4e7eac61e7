"""The `emostage` command line."""

from emostage.cli.evaluate import eval_app
from emostage.cli.main import app

app.add_typer(eval_app, name="eval")

__all__ = ["app"]
