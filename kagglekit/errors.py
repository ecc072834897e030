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


class KaggleKitWarning(UserWarning):
    """Something was skipped or assumed; the CLI shows it as one "Warning:" line."""


# what to do about an OS error, by errno name
_OS_HINTS = {
    "ENOSPC": "the disk is full: free some space or write elsewhere (--runs-dir, --output)",
    "EDQUOT": "the disk quota is used up: free some space or write elsewhere",
    "EROFS": "the file system is read-only: write elsewhere (--runs-dir, --output)",
    "EFBIG": "the file is larger than this system allows (see `ulimit -f`): write elsewhere",
    "ENOTDIR": "a part of the path is a file, not a folder: choose another path",
    "EEXIST": "a file is in the way: choose another path",
    "EACCES": "permission denied: choose a folder you can write to, or fix its permissions",
    "EPERM": "operation not permitted: choose a folder you can write to",
    "ELOOP": "the path is a symbolic link loop",
    "EISDIR": "the path is a folder, not a file",
    "ENAMETOOLONG": "the path is too long",
}


def os_error_line(exc: OSError, path=None, doing: str = "") -> str:
    """One line for an OS error: the path, the cause and what to do."""
    import errno as _errno
    import os

    name = _errno.errorcode.get(exc.errno or 0, "")
    where = path if path is not None else (exc.filename or "a file")
    cause = exc.strerror or str(exc) or type(exc).__name__
    detail = (
        f" ({exc.filename})"
        if path is not None and exc.filename and str(exc.filename) != str(path)
        else ""
    )
    hint = _OS_HINTS.get(name, "")
    if name == "EEXIST" and exc.filename and os.path.isfile(exc.filename):
        cause, hint = f"{exc.filename} is a file, not a folder", "choose another path"
        detail = ""
    return (
        f"{where}: {cause}{f' [{name}]' if name else ''}{detail}"
        f"{f' while {doing}' if doing else ''}{f'; {hint}' if hint else ''}"
    )


def show(value, limit: int = 60) -> str:
    """A value for a one-line message: repr'd (so control characters and NUL bytes are
    escaped) and shortened to about ``limit`` characters."""
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # a numpy scalar
        value = value.item()
    text = repr(value)
    if len(text) > limit:
        text = f"{text[: limit - 12]}…({len(str(value))} characters)"
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


# what to do about a damaged or incomplete run: one sentence, said by every check of one
RECREATE_RUN = (
    "re-create the run with the same `kagglekit cv ...` (or fit/blend) command, or remove it"
)
