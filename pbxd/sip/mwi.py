"""Message waiting indication (RFC 3842): message-summary bodies and their NOTIFY requests.

Body (application/simple-message-summary, RFC 3842 section 5.2):

    Messages-Waiting: yes
    Message-Account: sip:1001@pbx.example.com
    Voice-Message: 2/8 (0/1)

i.e. a status line, an optional account URI, one `<class>: new/old (urgent-new/urgent-old)`
line per message context class (RFC 3458: voice-message, fax-message, pager-message,
multimedia-message, text-message, none), then optionally a blank line and message headers
(kept as text, not interpreted). Names are case-insensitive on input; output uses the
capitalisation of the RFC's examples.

NOTIFY (RFC 3842 section 3.8, RFC 6665 sections 4.2.2 and 8.2.3): Event: message-summary,
Subscription-State, Content-Type application/simple-message-summary. Phones that never
SUBSCRIBE still light their lamp on an out-of-dialog ("unsolicited") NOTIFY sent to their
registered contact; `unsolicited_notify` builds that one, `notify_in_dialog` the NOTIFY of a
real subscription.

`MessageSummary.parse` raises `SummaryParseError` (a `ParseError`, status 400) and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .dialog import Dialog, new_call_id, new_tag
from .errors import ParseError
from .headers import CSeq, Event, Headers, NameAddr, Via
from .message import Request
from .uri import SipUri, Uri, format_params, is_token, parse_uri

EVENT_PACKAGE = "message-summary"
CONTENT_TYPE = "application/simple-message-summary"
MAX_COUNT = 2**32 - 1
MAX_BODY = 65535

# RFC 3458 section 6.1 message-context-class values, as RFC 3842 writes them.
CONTEXT_CLASSES = {
    "voice-message": "Voice-Message",
    "fax-message": "Fax-Message",
    "pager-message": "Pager-Message",
    "multimedia-message": "Multimedia-Message",
    "text-message": "Text-Message",
    "none": "None",
}
VOICE = "voice-message"

# HCOLON = *( SP / HTAB ) ":" SWS (RFC 3261 section 25.1)
_LINE = re.compile(r"([!-9;-~]+)[ \t]*:[ \t]*(.*)", re.DOTALL)
# msg-summary-line (RFC 3842 section 5.2): newmsgs SLASH oldmsgs [LPAREN new SLASH old RPAREN]
_COUNTS = re.compile(r"(\d+)\s*/\s*(\d+)(?:\s*\(\s*(\d+)\s*/\s*(\d+)\s*\))?")


class SummaryParseError(ParseError):
    """A message-summary body that does not follow RFC 3842 section 5.2."""


@dataclass(frozen=True)
class MessageCounts:
    new: int = 0
    old: int = 0
    new_urgent: int = 0
    old_urgent: int = 0

    def __post_init__(self) -> None:
        for name in ("new", "old", "new_urgent", "old_urgent"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
                raise ValueError(f"{name} must be an integer 0..{MAX_COUNT}, not {value!r}")

    def serialize(self) -> str:
        text = f"{self.new}/{self.old}"
        if self.new_urgent or self.old_urgent:
            text += f" ({self.new_urgent}/{self.old_urgent})"
        return text


@dataclass(frozen=True)
class MessageSummary:
    """The body of a message-summary NOTIFY."""

    waiting: bool
    account: str | None = None  # Message-Account URI, as text
    counts: dict[str, MessageCounts] = field(default_factory=dict)  # lower-case class -> counts
    message_headers: str = ""  # opt-msg-headers: kept verbatim, not interpreted

    @classmethod
    def for_voicemail(
        cls,
        new: int,
        old: int,
        account: str | SipUri | None = None,
        *,
        new_urgent: int = 0,
        old_urgent: int = 0,
    ) -> MessageSummary:
        """The usual PBX summary: waiting iff there are new messages, one Voice-Message line."""
        counts = MessageCounts(new, old, new_urgent, old_urgent)
        account_text = account.serialize() if isinstance(account, SipUri) else account
        return cls(new > 0, account_text, {VOICE: counts})

    @property
    def voice(self) -> MessageCounts | None:
        return self.counts.get(VOICE)

    def serialize(self) -> bytes:
        lines = [f"Messages-Waiting: {'yes' if self.waiting else 'no'}"]
        if self.account:
            lines.append(f"Message-Account: {self.account}")
        for name, counts in self.counts.items():
            lines.append(f"{_class_label(name)}: {counts.serialize()}")
        text = "\r\n".join(lines) + "\r\n"
        if self.message_headers:
            text += "\r\n" + self.message_headers.replace("\r\n", "\n").replace("\n", "\r\n")
            if not text.endswith("\r\n"):
                text += "\r\n"
        return text.encode("utf-8")

    @classmethod
    def parse(cls, body: bytes | str) -> MessageSummary:
        """Parse a body; liberal in line endings, folding, case and spaces (SummaryParseError)."""
        if isinstance(body, bytes):
            if len(body) > MAX_BODY:
                raise SummaryParseError(f"message-summary body of {len(body)} bytes is too large")
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SummaryParseError("message-summary body is not UTF-8") from exc
        elif isinstance(body, str):
            text = body
        else:
            raise SummaryParseError(f"message-summary body must be bytes, not {type(body)}")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        head, blank, rest = text.lstrip("\n").partition("\n\n")
        waiting: bool | None = None
        account: str | None = None
        counts: dict[str, MessageCounts] = {}
        for line in _unfold(head):
            match = _LINE.fullmatch(line)
            if not match:
                raise SummaryParseError(f"bad message-summary line {line[:60]!r}")
            name, value = match.group(1).lower(), match.group(2).strip()
            if name == "messages-waiting":
                if waiting is not None:
                    raise SummaryParseError("Messages-Waiting appears twice")
                if value.lower() not in ("yes", "no"):
                    raise SummaryParseError(f"Messages-Waiting must be yes or no, not {value!r}")
                waiting = value.lower() == "yes"
            elif name == "message-account":
                if account is not None:
                    raise SummaryParseError("Message-Account appears twice")
                account = _parse_account(value)
            else:
                parsed = _parse_counts(name, value)
                if parsed is None:
                    continue  # an unknown line that is not a summary line: ignored
                if name in counts:
                    raise SummaryParseError(f"{_class_label(name)} appears twice")
                counts[name] = parsed
        if waiting is None:
            raise SummaryParseError("message-summary body without Messages-Waiting")
        headers = rest.strip("\n") if blank else ""
        return cls(waiting, account, counts, headers.replace("\n", "\r\n"))


def _unfold(text: str) -> list[str]:
    """Lines of the summary block; a line starting with SP/HTAB continues the previous one."""
    lines: list[str] = []
    for raw in text.split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += " " + raw.strip()
        elif raw.strip():
            lines.append(raw.strip())
    return lines


def _class_label(name: str) -> str:
    return CONTEXT_CLASSES.get(name) or "-".join(part.capitalize() for part in name.split("-"))


def _parse_account(value: str) -> str:
    if not value or any(ch.isspace() for ch in value):
        raise SummaryParseError(f"bad Message-Account {value[:60]!r}")
    try:
        parse_uri(value)
    except ParseError as exc:
        raise SummaryParseError(f"bad Message-Account {value[:60]!r}: {exc}") from exc
    return value


def _parse_counts(name: str, value: str) -> MessageCounts | None:
    match = _COUNTS.fullmatch(value)
    if not match:
        if name in CONTEXT_CLASSES:
            raise SummaryParseError(f"bad {_class_label(name)} counts {value[:40]!r}")
        return None
    if not is_token(name):
        raise SummaryParseError(f"bad message context class {name[:40]!r}")
    numbers = []
    for group in match.groups():
        if group is None:
            numbers.append(0)
            continue
        if len(group) > 10 or int(group) > MAX_COUNT:
            raise SummaryParseError(f"{_class_label(name)} count {group[:12]} is too large")
        numbers.append(int(group))
    return MessageCounts(*numbers)


# -- NOTIFY -------------------------------------------------------------------------------------


def subscription_state(state: str, *, expires: int | None = None, reason: str | None = None) -> str:
    """Subscription-State value (RFC 6665 section 8.2.3): active;expires=N, terminated;reason=R."""
    if state not in ("active", "pending", "terminated"):
        raise ValueError(f"subscription state {state!r}: active, pending or terminated")
    params: dict[str, str | None] = {}
    if expires is not None:
        if state == "terminated" or expires < 0:
            raise ValueError("expires is for an active or pending subscription, and >= 0")
        params["expires"] = str(expires)
    if reason is not None:
        if state != "terminated" or not is_token(reason):
            raise ValueError("reason is a token, for a terminated subscription")
        params["reason"] = reason
    return state + format_params(params)


def _add_summary_headers(headers: Headers, state_value: str) -> None:
    headers.add("Event", Event(EVENT_PACKAGE).serialize())
    headers.add("Subscription-State", state_value)
    headers.add("Content-Type", CONTENT_TYPE)


def unsolicited_notify(
    summary: MessageSummary,
    *,
    target: Uri,
    aor: SipUri,
    via: Via,
    contact: NameAddr,
    call_id: str | None = None,
    from_tag: str | None = None,
    cseq: int = 1,
    state: str = "terminated",
    expires: int | None = None,
) -> Request:
    """An out-of-dialog NOTIFY for a phone that did not subscribe.

    `target` is the phone's registered contact (the Request-URI), `aor` its address of record
    (To, and From: the notice is about the user's own mailbox, as in RFC 3842 section 4).
    `state` "terminated" (the default) says no subscription follows, which phones that never
    subscribed accept; "active" with `expires` suits phones that insist on it.
    """
    headers = Headers()
    headers.add("Via", via.serialize())
    headers.add("Max-Forwards", "70")
    headers.add("From", NameAddr(aor, params={"tag": from_tag or new_tag()}).serialize())
    headers.add("To", NameAddr(aor).serialize())
    headers.add("Call-ID", call_id or new_call_id(via.host))
    headers.add("CSeq", CSeq(cseq, "NOTIFY").serialize())
    headers.add("Contact", contact.serialize())  # RFC 6665 section 4.1.2.2: NOTIFY has one
    _add_summary_headers(
        headers, subscription_state(state, expires=expires if state != "terminated" else None)
    )
    return Request(headers=headers, body=summary.serialize(), method="NOTIFY", uri=target)


def notify_in_dialog(
    dialog: Dialog,
    via: Via,
    summary: MessageSummary,
    *,
    state: str = "active",
    expires: int | None = None,
    reason: str | None = None,
) -> Request:
    """The NOTIFY of a SUBSCRIBE dialog (RFC 6665 section 4.2.2), carrying `summary`."""
    request = dialog.create_request("NOTIFY", via, body=summary.serialize())
    if dialog.local_contact is not None:
        request.headers.add("Contact", dialog.local_contact.serialize())
    _add_summary_headers(request.headers, subscription_state(state, expires=expires, reason=reason))
    return request


def summary_of(request: Request) -> MessageSummary:
    """The summary carried by a received NOTIFY; SummaryParseError if it carries none."""
    event = request.event
    if event is None or event.package != EVENT_PACKAGE:
        raise SummaryParseError(f"not a {EVENT_PACKAGE} NOTIFY")
    content_type = request.content_type  # the media type only, lower case
    if content_type != CONTENT_TYPE:
        raise SummaryParseError(f"Content-Type {content_type}; expected {CONTENT_TYPE}")
    return MessageSummary.parse(request.body)
