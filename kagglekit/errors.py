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


def show(value, limit: int = 60) -> str:
    """A value for a one-line message: repr'd (so control characters and NUL bytes are
    escaped) and shortened to about ``limit`` characters."""
    text = repr(value)
    if len(text) > limit:
        text = f"{text[:limit - 12]}…({len(str(value))} characters)"
    return text


def why_not_there(path) -> str:
    """Why ``path`` cannot be used as a file or folder: 'not found', 'is a file', a loop, ..."""
    import errno
    import os

    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop"
        if exc.errno == errno.ENOTDIR:
            return "not found (a parent of it is a file, not a folder)"
        if exc.errno == errno.EACCES:
            return "cannot be reached (permission denied)"
        if exc.errno == errno.ENOENT and os.path.islink(path):
            return "is a symbolic link to something that does not exist"
        return "does not exist" if exc.errno == errno.ENOENT else (exc.strerror or str(exc))
    if os.path.isdir(path):
        return "is a folder, not a file"
    return "is a file, not a folder"
