"""SIP dialogs (RFC 3261 section 12): identifiers, CSeq spaces, route sets, remote target.

Pure data and rules: a dialog builds in-dialog requests and checks incoming ones. Where a request
goes on the wire is the caller's business (a B2BUA facing NATed phones sends to the address the
phone talks from, not to its Contact).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from .errors import CallDoesNotExist, ServerInternalError
from .headers import CSeq, Headers, NameAddr, Via
from .message import Request, Response
from .uri import SipUri, Uri


def new_tag() -> str:
    return secrets.token_hex(8)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(12)}@{host}"


@dataclass(frozen=True)
class DialogId:
    call_id: str
    local_tag: str
    remote_tag: str


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: NameAddr
    remote_uri: NameAddr
    remote_target: Uri
    route_set: list[NameAddr] = field(default_factory=list)
    local_seq: int = 0
    remote_seq: int | None = None
    local_contact: NameAddr | None = None

    @property
    def id(self) -> DialogId:
        return DialogId(self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def as_uas(cls, request: Request, response: Response, local_contact: NameAddr) -> Dialog:
        """The dialog a UAS creates by answering `request` with `response` (section 12.1.1)."""
        contacts = request.contacts
        if not contacts:
            raise CallDoesNotExist("dialog-creating request without Contact")
        local_tag = response.to.tag
        remote_tag = request.from_.tag
        if not local_tag or not remote_tag:
            raise CallDoesNotExist("dialog needs both tags")
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=remote_tag,
            local_uri=response.to,
            remote_uri=request.from_,
            remote_target=contacts[0].uri,
            route_set=request.record_routes,
            remote_seq=request.cseq.seq,
            local_contact=local_contact,
        )

    @classmethod
    def as_uac(cls, request: Request, response: Response) -> Dialog:
        """The dialog a UAC creates from a 1xx-with-tag or 2xx response (section 12.1.2)."""
        contacts = response.contacts
        remote_tag = response.to.tag
        if not remote_tag:
            raise CallDoesNotExist("response without To tag creates no dialog")
        target = contacts[0].uri if contacts else request.uri
        local_contacts = request.contacts
        return cls(
            call_id=request.call_id,
            local_tag=request.from_.tag or "",
            remote_tag=remote_tag,
            local_uri=request.from_,
            remote_uri=response.to,
            remote_target=target,
            route_set=list(reversed(response.record_routes)),
            local_seq=request.cseq.seq,
            local_contact=local_contacts[0] if local_contacts else None,
        )

    def update_target(self, message: Request | Response) -> None:
        """A target refresh (re-INVITE, UPDATE or its 2xx) replaces the remote target (12.2)."""
        contacts = message.contacts
        if contacts:
            self.remote_target = contacts[0].uri

    def check_request(self, request: Request) -> None:
        """In-dialog request checks of section 12.2.2: the remote CSeq must grow."""
        cseq = request.cseq
        if request.method in ("ACK", "CANCEL"):
            return
        if self.remote_seq is not None and cseq.seq <= self.remote_seq:
            raise ServerInternalError(f"CSeq {cseq.seq} is not above {self.remote_seq}")
        self.remote_seq = cseq.seq

    def create_request(
        self, method: str, via: Via, *, body: bytes = b"", cseq: int | None = None
    ) -> Request:
        """A request inside this dialog (section 12.2.1.1); ACK and CANCEL pass `cseq`."""
        if cseq is None:
            self.local_seq += 1
            cseq = self.local_seq
        uri, routes = self._request_uri_and_routes()
        headers = Headers()
        headers.add("Via", via.serialize())
        headers.add("Max-Forwards", "70")
        for route in routes:
            headers.add("Route", route.serialize())
        headers.add("From", self.local_uri.with_tag(self.local_tag).serialize())
        headers.add("To", self.remote_uri.with_tag(self.remote_tag).serialize())
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", CSeq(cseq, method).serialize())
        if self.local_contact is not None and method in ("INVITE", "UPDATE", "SUBSCRIBE", "REFER"):
            headers.add("Contact", self.local_contact.serialize())
        return Request(headers=headers, body=body, method=method, uri=uri)

    def _request_uri_and_routes(self) -> tuple[Uri, list[NameAddr]]:
        if not self.route_set:
            return self.remote_target, []
        first = self.route_set[0].uri
        if isinstance(first, SipUri) and "lr" in first.params:
            return self.remote_target, list(self.route_set)
        # Strict routing (RFC 2543 proxies): the first route becomes the Request-URI.
        return first, [*self.route_set[1:], NameAddr(self.remote_target)]
