"""Training and data for the learned screen (see `training/README.md`)."""
