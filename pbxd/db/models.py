"""Live models. The schema itself comes from the numbered migrations in `migrations/`; these
classes only map it (tests check that both agree)."""

from __future__ import annotations

from peewee import (
    BooleanField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

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
    # m0002: the extension number an agent works at (REFERENCES extension.number, SET NULL).
    extension = TextField(null=True, unique=True)
    # m0006: console language (zh-CN | en) and number masking (all | partial | name_only).
    language = TextField(default="zh-CN")
    masking = TextField(default="all")

    class Meta:
        table_name = "user"


class ApiToken(BaseModel):
    token_hash = TextField(unique=True)  # sha256 hex of the bearer token; the token is never stored
    user = ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    created_at = UtcDateTimeField()
    expires_at = UtcDateTimeField()

    class Meta:
        table_name = "api_token"


class WebSession(BaseModel):
    """A browser session of the console (m0006); the cookie itself is never stored."""

    token_hash = TextField(unique=True)  # sha256 hex of the session cookie
    user = ForeignKeyField(User, backref="web_sessions", on_delete="CASCADE")
    csrf_token = TextField()  # sent to the page; useless without the cookie
    created_at = UtcDateTimeField()
    last_seen_at = UtcDateTimeField()  # slides the idle timeout, written at most once a minute
    expires_at = UtcDateTimeField()  # absolute end, whatever the activity

    class Meta:
        table_name = "web_session"


class OperationLogEntry(BaseModel):
    """One row of the operation log (m0006): who changed what through the API, or logged in."""

    time = UtcDateTimeField()
    username = TextField()
    role = TextField(null=True)  # None for a failed login
    client_ip = TextField()
    action = TextField()  # "login", "logout", "login_failed" or "PUT /api/v1/queues/{number}"
    target = TextField()  # the request path
    detail = TextField(default="{}")  # JSON object: field names and status, never values

    class Meta:
        table_name = "operation_log"


class Extension(BaseModel):
    number = TextField(unique=True)
    name = TextField()
    # SIP digest password, kept plain because digest authentication needs it (RFC 3261 22.4,
    # RFC 8760). Never leaves the service layer except through ExtensionService.secret_for().
    secret = TextField()
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()
    # Which of its calls are recorded: none | all | inbound | outbound.
    recording = TextField(default="none")
    voicemail = BooleanField(default=False)  # unanswered direct calls go to its mailbox
    # Digits that open the mailbox from any phone (*98); plain like `secret`, and like it never
    # leaves the service layer except through ExtensionService.voicemail_pin().
    voicemail_pin = TextField(null=True)

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
    disposition = TextField()  # ANSWERED | NO ANSWER | BUSY | FAILED | CANCELLED | ABANDONED
    hangup_side = TextField()  # caller | callee | system

    class Meta:
        table_name = "cdr"


# -- history (m0003): written by call control after the fact, read by the API and reports ---


class Recording(BaseModel):
    call_id = TextField(null=True)
    path = TextField(unique=True)  # relative to <data-dir>/recordings/
    format = TextField()  # wav-pcm16 | wav-pcmu | wav-pcma | wav-gsm (pbxd.media.recorder)
    channels = IntegerField()
    duration = FloatField()  # seconds
    size = IntegerField()  # bytes
    start = UtcDateTimeField()
    caller = TextField()
    callee = TextField()
    queue = TextField(null=True)
    agent = TextField(null=True)
    note = TextField(default="")

    class Meta:
        table_name = "recording"


class CallDetail(BaseModel):
    """The call-center side of one CDR row."""

    cdr = ForeignKeyField(Cdr, unique=True, backref="detail", on_delete="CASCADE")
    call_id = TextField()
    queue = TextField(null=True)
    wait = IntegerField(null=True)  # seconds in the queue
    agent = TextField(null=True)
    recording = ForeignKeyField(Recording, null=True, backref="calls", on_delete="SET NULL")
    survey = TextField(null=True)  # very_satisfied | satisfied | unsatisfied
    survey_reason = TextField(null=True)  # service | attitude | other

    class Meta:
        table_name = "call_detail"


class CallLeg(BaseModel):
    cdr = ForeignKeyField(Cdr, backref="legs", on_delete="CASCADE")
    call_id = TextField()
    leg = TextField()
    direction = TextField()  # inbound | outbound | internal
    party = TextField()
    peer_kind = TextField()  # extension | trunk
    peer = TextField()
    start = UtcDateTimeField()
    answer = UtcDateTimeField(null=True)
    end = UtcDateTimeField()
    disposition = TextField()
    hangup_side = TextField()

    class Meta:
        table_name = "call_leg"


class QueueEvent(BaseModel):
    time = UtcDateTimeField()
    call_id = TextField(null=True)
    queue = TextField(null=True)
    agent = TextField(null=True)
    event = TextField()
    data = TextField(default="{}")  # a JSON object

    class Meta:
        table_name = "queue_event"


class VoicemailMessage(BaseModel):
    box = TextField()
    caller = TextField()
    time = UtcDateTimeField()
    duration = FloatField()  # seconds
    path = TextField(unique=True)  # relative to <data-dir>/voicemail/
    new = BooleanField(default=True)

    class Meta:
        table_name = "voicemail_message"


# -- call-center configuration (m0002): written through the API, read by call control --------
# Destinations are `kind:target` text (pbxd/callcenter/destinations.py). Member and agent
# `extension` columns hold an extension number (REFERENCES extension.number in the schema).


class Queue(BaseModel):
    number = TextField(unique=True)
    name = TextField()
    strategy = TextField()
    timeout = IntegerField()  # agent ring time, s
    retry = IntegerField()  # s between rounds
    wrapup = IntegerField()  # s after a call before the agent rings again
    max_wait = IntegerField()  # s, 0 = no limit
    max_length = IntegerField()  # waiting callers, 0 = no limit
    overflow = TextField(null=True)
    join_empty = BooleanField()
    leave_when_empty = BooleanField()
    welcome_prompt = TextField(null=True)
    music = TextField(null=True)
    announce_position = BooleanField()
    announce_wait = BooleanField()
    periodic_prompt = TextField(null=True)
    periodic_interval = IntegerField()  # s
    announce_agent_id = BooleanField()
    recording = TextField()  # none | all | inbound | outbound
    voicemail = BooleanField()
    survey = BooleanField()
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()

    class Meta:
        table_name = "queue"


class UserQueue(BaseModel):
    """A queue a supervisor leads (m0006)."""

    user = ForeignKeyField(User, backref="led_queues", on_delete="CASCADE")
    queue = ForeignKeyField(Queue, backref="supervisors", on_delete="CASCADE")

    class Meta:
        table_name = "user_queue"


class QueueMember(BaseModel):
    queue = ForeignKeyField(Queue, backref="members", on_delete="CASCADE")
    extension = TextField()
    penalty = IntegerField()
    position = IntegerField()  # order given in the API

    class Meta:
        table_name = "queue_member"


class RingGroup(BaseModel):
    number = TextField(unique=True)
    name = TextField()
    strategy = TextField()  # ringall | order
    timeout = IntegerField()  # s
    failover = TextField(null=True)
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()

    class Meta:
        table_name = "ring_group"


class RingGroupMember(BaseModel):
    ring_group = ForeignKeyField(RingGroup, backref="members", on_delete="CASCADE")
    extension = TextField()
    position = IntegerField()

    class Meta:
        table_name = "ring_group_member"


class Conference(BaseModel):
    number = TextField(unique=True)
    name = TextField()
    pin = TextField(null=True)
    moderator_pin = TextField(null=True)
    max_members = IntegerField()
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()

    class Meta:
        table_name = "conference"


class Ivr(BaseModel):
    name = TextField(unique=True)
    number = TextField(null=True, unique=True)
    prompt = TextField()
    keys = TextField()  # JSON object: key -> destination or "repeat"
    dial_extension = BooleanField()
    timeout = IntegerField()  # s
    retries = IntegerField()
    invalid_prompt = TextField(null=True)
    timeout_destination = TextField(null=True)
    invalid_destination = TextField(null=True)
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()

    class Meta:
        table_name = "ivr"


class InboundRoute(BaseModel):
    did = TextField(unique=True)  # called number, or "*" for any
    destination = TextField()
    time_condition = TextField(null=True)  # JSON object, see services/routes.py
    closed_destination = TextField(null=True)
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()

    class Meta:
        table_name = "inbound_route"


class Trunk(BaseModel):
    name = TextField(unique=True)
    host = TextField(unique=True)  # IP address; calls from it are trusted as outside calls
    port = IntegerField()
    transport = TextField()  # udp | tcp
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()

    class Meta:
        table_name = "trunk"


class Agent(BaseModel):
    extension = TextField(unique=True)
    paused = BooleanField()
    pause_reason = TextField(null=True)
    paused_since = UtcDateTimeField(null=True)

    class Meta:
        table_name = "agent"


class AgentLogin(BaseModel):
    extension = TextField()
    queue = ForeignKeyField(Queue, backref="logins", on_delete="CASCADE")
    since = UtcDateTimeField()

    class Meta:
        table_name = "agent_login"


# -- customers and the blacklist (m0007) ------------------------------------------------------


class Contact(BaseModel):
    """A customer of the directory: the name a `name_only` user sees instead of the number."""

    number = TextField(unique=True)  # matched exactly against caller/callee numbers
    name = TextField()
    company = TextField(default="")
    note = TextField(default="")
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()

    class Meta:
        table_name = "contact"


class BlacklistEntry(BaseModel):
    number = TextField(unique=True)  # digits ("13800138000") or a prefix ending in "*" ("400*")
    direction = TextField()  # inbound | outbound | both
    note = TextField(default="")
    created_at = UtcDateTimeField()

    class Meta:
        table_name = "blacklist_entry"


# -- screen pop, memos and wrap-up dispositions (m0008) ---------------------------------------
# History rows hold names (username, extension, code), no foreign keys: they outlive users and
# codes, and a configuration restore replaces those.


class DispositionCode(BaseModel):
    """A code an agent picks at wrap-up (configuration)."""

    code = TextField(unique=True)  # "resolved", "sales_lead" ...
    label_zh = TextField()
    label_en = TextField()
    position = IntegerField()  # order of the list
    active = BooleanField(default=True)  # offered for new dispositions
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()

    class Meta:
        table_name = "disposition_code"


class Memo(BaseModel):
    """A note on a customer's number (备忘录), written from the screen pop."""

    number = TextField()  # matched exactly, like Contact.number
    author = TextField()  # username
    author_extension = TextField(null=True)
    call_id = TextField(null=True)  # the call it was written during, if any
    content = TextField()
    created_at = UtcDateTimeField()

    class Meta:
        table_name = "memo"


class CallDisposition(BaseModel):
    """The wrap-up of one call by one agent: a code and a note; one row per (call_id, agent)."""

    call_id = TextField()  # Cdr.call_id
    agent = TextField()  # the agent's extension
    code = TextField()  # DispositionCode.code when it was set
    note = TextField(default="")
    author = TextField()  # username of who set it last
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()

    class Meta:
        table_name = "call_disposition"
        indexes = ((("call_id", "agent"), True),)
