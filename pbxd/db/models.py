"""Live models. The schema itself comes from the numbered migrations in `migrations/`; these
classes only map it (tests check that both agree)."""

from __future__ import annotations

from peewee import ForeignKeyField, IntegerField, Model, TextField

from . import db
from .fields import UtcDateTimeField


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class User(BaseModel):
    username = TextField(unique=True)
    password_hash = TextField()  # "scrypt$n$r$p$salt$hash", see services/passwords.py
    role = TextField()  # admin | supervisor | agent
    created_at = UtcDateTimeField()

    class Meta:
        table_name = "user"


class ApiToken(BaseModel):
    token_hash = TextField(unique=True)  # sha256 hex of the bearer token; the token is never stored
    user = ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    created_at = UtcDateTimeField()
    expires_at = UtcDateTimeField()

    class Meta:
        table_name = "api_token"


class Extension(BaseModel):
    number = TextField(unique=True)
    name = TextField()
    # SIP digest password, kept plain because digest authentication needs it (RFC 3261 22.4,
    # RFC 8760). Never leaves the service layer except through ExtensionService.secret_for().
    secret = TextField()
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()

    class Meta:
        table_name = "extension"


class Cdr(BaseModel):
    call_id = TextField()
    caller = TextField()
    callee = TextField()
    start = UtcDateTimeField()
    answer = UtcDateTimeField(null=True)
    end = UtcDateTimeField()
    duration = IntegerField()  # seconds from start to end
    billsec = IntegerField()  # seconds from answer to end
    disposition = TextField()  # ANSWERED | NO ANSWER | BUSY | FAILED | CANCELLED
    hangup_side = TextField()  # caller | callee | system

    class Meta:
        table_name = "cdr"
