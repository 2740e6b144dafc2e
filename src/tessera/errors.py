"""Tessera's exception tree.

Every error Tessera raises on purpose derives from :class:`TesseraError` and
carries enough context (file, column, row, the fix) to act on without a
traceback::

    TesseraError
    ├── ModelError            the declared data model itself is inconsistent
    ├── MappingError          a mapping file is invalid (unknown key, bad type, ...)
    ├── WorkspaceError        a workspace is missing, locked, or of another version
    ├── IngestError           a file cannot be loaded as its mapping says
    │   └── SourceFileError   the file itself is unreadable, empty, truncated, ...
    ├── EngineError           an engine failed to run a step
    │   └── UnsupportedOperation   the engine lacks a capability (declared as data)
    ├── StageError            a pipeline stage is misdeclared or failed
    ├── ResolutionError       entity resolution cannot do what was asked (unknown record, ...)
    ├── NetworkError          a network query or export cannot do what was asked
    ├── AccessError           an access context (user, case, legal basis) is missing or invalid
    ├── AccountError          an account operation is invalid (name, role, password, token)
    ├── AuthError             a login, token or session is not valid (never says which part)
    ├── PermissionDenied      a user lacks a permission, case membership, active case or scope
    ├── CaseError             a case cannot be opened or changed as asked
    ├── RetentionError        a retention setting is invalid or a purge cannot be done
    └── EvaluationError       scoring a workspace against a simulator's truth failed
        └── TruthError        the truth folder, or a file or column in it, is missing or unreadable
"""

from __future__ import annotations


class TesseraError(Exception):
    """Base class of every error Tessera raises deliberately."""


class ModelError(TesseraError):
    """The declared data model is inconsistent."""


class MappingError(TesseraError):
    """A mapping file is invalid."""


class WorkspaceError(TesseraError):
    """A workspace is missing, locked, damaged or of an unsupported version."""


class IngestError(TesseraError):
    """A file cannot be ingested as its mapping describes. Nothing was changed."""


class SourceFileError(IngestError):
    """The input file is unreadable, empty, truncated or not of the declared format."""


class EngineError(TesseraError):
    """An engine failed to run a step."""


class UnsupportedOperation(EngineError):
    """The engine does not support an operation; see ``tessera.engines.CAPABILITIES``."""


class StageError(TesseraError):
    """A pipeline stage is misdeclared or failed."""


class ResolutionError(TesseraError):
    """Entity resolution cannot do what was asked: an unknown record, records of two
    kinds judged together, a missing model, inconsistent clustering parameters."""


class NetworkError(TesseraError):
    """A network query or export cannot do what was asked (unknown subject or format,
    the network tables not built, an unwritable path)."""


class AccessError(TesseraError):
    """An access cannot be granted or recorded: the access context (user, case, legal
    basis) is missing or invalid, or the audit record of the access is malformed. The
    message names the field and the values it accepts."""


class EvaluationError(TesseraError):
    """Scoring a workspace against a simulator's truth failed (a metric provider misbehaved)."""


class TruthError(EvaluationError):
    """The truth folder, or a file or column in it, is missing or unreadable."""


class DossierError(TesseraError):
    """A dossier or search cannot be served: the dossiers are not built, the person is
    unknown, a filter is malformed, or a format cannot be written."""


class AccountError(TesseraError):
    """An account operation cannot be done: an invalid name, role or password, an
    unknown account or token, a name already taken."""


class AuthError(TesseraError):
    """Authentication failed: the name and password (or the token, or the session) are
    not valid. The message never says which part was wrong or whether the account
    exists."""


class PermissionDenied(TesseraError):
    """An authenticated user may not do what was asked: the role lacks the permission,
    the user is not a member of the case, the case is not active or has expired, or the
    subject is outside the case's scope. The message names what was missing."""


class CaseError(TesseraError):
    """A case cannot be opened or changed as asked: an invalid reference, title, scope
    or expiry, an unknown case, or a transition its status does not allow."""


class RetentionError(TesseraError):
    """A retention setting is invalid (an unknown source kind, a period that cannot be
    read) or a purge cannot be done."""
