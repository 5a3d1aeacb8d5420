"""The SIP application of pbxd: checks every request once, then routes it by method.

REGISTER goes to the registrar, calls to the B2BUA, OPTIONS is answered here. The checks of
RFC 3261 section 8.2.2 (Require, Max-Forwards) live here, in one place for every method.
"""

from __future__ import annotations

import hashlib
import logging

from pbxd.sip.errors import (
    BadEvent,
    BadExtension,
    CallDoesNotExist,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    NotImplementedMethod,
    TooManyHops,
)
from pbxd.sip.message import Request
from pbxd.sip.peer import Peer
from pbxd.sip.registrar import Registrar
from pbxd.sip.transaction import ServerTransaction
from pbxd.sip.uri import SipUri

from .auth_guard import AuthGuard
from .b2bua import ALLOW, B2bua
from .sipcore import SipCore

log = logging.getLogger(__name__)

SUPPORTED_OPTIONS: frozenset[str] = frozenset()  # option tags we implement (none yet)
CALL_METHODS = ("INVITE", "BYE", "CANCEL", "INFO")
# Requests the B2BUA passes on to another leg: they obey Max-Forwards (section 16.3 step 3).
FORWARDED_METHODS = ("INVITE", "BYE", "INFO")
EVENT_METHODS = ("SUBSCRIBE", "PUBLISH")


class Pbx:
    def __init__(self, core: SipCore, guard: AuthGuard, registrar: Registrar, b2bua: B2bua):
        self.core = core
        self.guard = guard
        self.registrar = registrar
        self.b2bua = b2bua

    def admits(self, request: Request, peer: Peer) -> bool:
        return self.guard.admits(request, peer)

    def on_request(self, tx: ServerTransaction, request: Request, peer: Peer) -> None:
        method = request.method
        if method not in ("ACK", "CANCEL"):
            unsupported = [
                tag for tag in request.headers.get_list("Require") if tag not in SUPPORTED_OPTIONS
            ]
            if unsupported:
                raise BadExtension(headers=[("Unsupported", ", ".join(unsupported))])
        if method in FORWARDED_METHODS and request.max_forwards == 0:
            raise TooManyHops("Max-Forwards reached 0")
        if method == "REGISTER":
            self._register(tx, request, peer)
        elif method == "OPTIONS":
            self._options(tx, request)
        elif method in CALL_METHODS:
            self.b2bua.on_request(tx, request, peer)
        elif method in EVENT_METHODS:
            raise BadEvent("no event packages are supported")
        elif method in ("NOTIFY", "UPDATE", "PRACK", "MESSAGE", "REFER"):
            if request.to.tag:
                raise CallDoesNotExist(f"{method} is not supported in this dialog")
            raise MethodNotAllowed(headers=[("Allow", ALLOW)])
        else:
            raise NotImplementedMethod(headers=[("Allow", ALLOW)])

    def on_ack(self, request: Request, peer: Peer) -> None:
        self.b2bua.on_ack(request, peer)

    def on_server_timeout(self, tx: ServerTransaction) -> None:
        self.b2bua.on_server_timeout(tx)

    def _register(self, tx: ServerTransaction, request: Request, peer: Peer) -> None:
        """Section 10.3: authenticate, then bind the To address to the contacts."""
        to_uri = request.to.uri
        if not isinstance(to_uri, SipUri) or not to_uri.user:
            raise NotFound("To must be a SIP URI with an extension number")
        aor = to_uri.unescaped_user or ""
        username = self.guard.authenticate(request, peer, proxy=False)
        if username != aor:
            raise Forbidden(f"{username} may not register {aor}")
        now = self.core.now()
        bindings = self.registrar.register(aor, request, peer, now)
        response = request.response(200, to_tag=_stable_tag(request))
        for binding in bindings:
            contact = binding.contact.with_params(expires=str(binding.expires_in(now)))
            response.headers.add("Contact", contact.serialize())
        self.core.respond(tx, response)
        log.debug("registered %s: %d contact(s)", aor, len(bindings))

    def _options(self, tx: ServerTransaction, request: Request) -> None:
        response = request.response(200, to_tag=_stable_tag(request))
        response.headers.add("Allow", ALLOW)
        response.headers.add("Accept", "application/sdp")
        response.headers.add("Accept-Language", "en, zh")
        response.headers.add("Supported", ", ".join(sorted(SUPPORTED_OPTIONS)))
        self.core.respond(tx, response)


def _stable_tag(request: Request) -> str:
    """A To tag for non-dialog responses; retransmissions get the same one."""
    return hashlib.sha1(request.call_id.encode()).hexdigest()[:16]
