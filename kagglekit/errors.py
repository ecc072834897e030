"""Small named exceptions. The CLI turns every KaggleKitError into one line and exit status 2."""


class KaggleKitError(Exception):
    """Bad input or configuration that the user can fix; shown as one line."""


class DataError(KaggleKitError):
    """A competition file is missing, unreadable or does not match its schema."""


class DataNotFound(DataError):
    """No directory holding the competition's files was found."""


class UnknownName(KaggleKitError):
    """An unknown competition, model, metric or run was named."""


class ParamError(KaggleKitError):
    """A hyperparameter is unknown or has the wrong type."""


class PluginError(KaggleKitError):
    """Two plugins registered the same name, or a plugin registered something invalid."""


class RunError(KaggleKitError):
    """A run directory is missing, incomplete or incompatible with the request."""


class SubmissionError(KaggleKitError):
    """A submission does not match sample_submission.csv."""
