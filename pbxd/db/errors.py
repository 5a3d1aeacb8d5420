"""Errors of the storage layer."""


class StorageError(Exception):
    """The database cannot be used as the firmware expects."""


class SchemaTooNew(StorageError):
    """The database was migrated by a newer firmware than this one (e.g. after an A/B rollback).

    Refusing to start beats writing rows that the newer schema does not expect.
    """
