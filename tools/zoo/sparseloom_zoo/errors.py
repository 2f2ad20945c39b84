"""The one error type of the zoo builder.

Every failure the user can fix (a bad spec, a bad option, an export that does not reproduce the
eager model) raises ``ZooError`` with a message that names the file, the field and what was
expected. The CLI prints it and exits non-zero; anything else is a bug and keeps its traceback.
"""


class ZooError(Exception):
    """A user-fixable build failure; ``str(err)`` is the whole message."""


class SpecError(ZooError):
    """The spec file, or what its ``make_spec`` returned, does not meet the declaration API."""


class ExportError(ZooError):
    """A stage could not be exported, or the exported stage disagrees with the eager one."""
