"""Typed exceptions. Every error EmoStage raises on purpose derives from `EmoStageError`."""


class EmoStageError(Exception):
    """Base class: a problem the user can fix, with a one-line message saying how."""


class InputError(EmoStageError):
    """The dialogue or another input is malformed."""


class TaxonomyError(EmoStageError):
    """A phase taxonomy file is missing or invalid."""


class ConfigError(EmoStageError):
    """A setting (backend, language, mode, ...) has an invalid value."""


class ModelUnavailableError(EmoStageError):
    """The model server cannot be reached or does not have the model."""


class TransientModelError(ModelUnavailableError):
    """A fault that may pass (refused connection, timeout, 5xx, a cut stream): retried."""
