"""The four SIP transaction state machines as tables, and the timer values they use.

RFC 3261 sections 17.1.1 (INVITE client, Figure 5), 17.1.2 (non-INVITE client, Figure 6),
17.2.1 (INVITE server, Figure 7) and 17.2.2 (non-INVITE server, Figure 8), with the "Accepted"
states and Timers L and M of RFC 6026 section 7; timer values from RFC 3261 Table 4. One
addition to the figures: section 9.1 gives an INVITE client up when no final response came
64*T1 after its CANCEL (CANCEL_SENT, TIMER_CANCEL).

A row reads: in `state`, on `event`, go to `next_state` and carry out `actions` in order. The
key `(None, event)` is the creation of the transaction. `TransactionLayer` (transaction.py)
carries the actions out; this module has no behaviour. An event from the TU that has no row is
an illegal call and raises; a network, timer or transport event without a row is absorbed, as
the RFC asks for messages that have no meaning in a state.

Actions:
    send_request / retransmit_request   the client's request to its peer
    deliver / deliver_2xx               a response to the TU (repeats recognised, see the layer)
    send_ack / resend_ack               the ACK of a non-2xx final (section 17.1.1.3)
    send_ack_2xx                        the TU's ACK for a 2xx, remembered to answer repeats
    stray                               a response the transaction has no use for, to the TU
    deliver_request                     a new request to the TU
    send_trying                         100 Trying at once, if the layer is so configured
    send_response / resend_response     the TU's response, or the last one again
    index_accepted                      make the 2xx's ACK findable (it has its own branch)
    accept_ack                          the ACK of the 2xx: to the TU once, ends 2xx repeats
    timeout / timeout_unless_acked      TransactionTimeout to the TU
    start:X / cancel:X                  arm / disarm timer X
    restart:X                           re-arm timer X after it fired, with its back-off rule
    restart_at_T2:X                     re-arm timer X with T2 (Timer E in Proceeding)
"""

from __future__ import annotations

from enum import Enum


class InviteClientState(Enum):
    CALLING = "Calling"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class NonInviteClientState(Enum):
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


class InviteServerState(Enum):
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class NonInviteServerState(Enum):
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


State = InviteClientState | NonInviteClientState | InviteServerState | NonInviteServerState


class TxEvent(Enum):
    # From the TU (a missing row raises).
    TU_REQUEST = "the TU sends the request"
    TU_1XX = "the TU sends a provisional response"
    TU_2XX = "the TU sends a 2xx response"
    TU_FINAL = "the TU sends a final response"
    TU_ACK_2XX = "the TU sends the ACK for a 2xx"
    # From the network and the transport (a missing row absorbs).
    RECV_NEW_REQUEST = "a new request arrives"
    RECV_MERGED_REQUEST = "a merged request arrives (section 8.2.2.2)"
    RECV_REQUEST = "the request arrives again"
    RECV_ACK = "an ACK arrives"
    RECV_1XX = "a provisional response arrives"
    RECV_2XX = "a 2xx response arrives"
    RECV_FINAL = "a final response arrives"
    TRANSPORT_ERROR = "the transport reports a failure"
    CANCEL_SENT = "the TU sends a CANCEL for this INVITE"
    # Timers (section 17 and RFC 6026); TIMER_2XX paces the 2xx retransmissions of 13.3.1.4.
    TIMER_A = "Timer A fires"
    TIMER_B = "Timer B fires"
    TIMER_D = "Timer D fires"
    TIMER_E = "Timer E fires"
    TIMER_F = "Timer F fires"
    TIMER_G = "Timer G fires"
    TIMER_H = "Timer H fires"
    TIMER_I = "Timer I fires"
    TIMER_J = "Timer J fires"
    TIMER_K = "Timer K fires"
    TIMER_L = "Timer L fires"
    TIMER_M = "Timer M fires"
    TIMER_2XX = "the 2xx retransmission timer fires"
    # Section 9.1: no final response 64*T1 after the CANCEL: the INVITE is given up.
    TIMER_CANCEL = "the CANCEL timer fires"

    @property
    def from_tu(self) -> bool:
        return self.name.startswith("TU_")

    @property
    def is_timer(self) -> bool:
        return self.name.startswith("TIMER_")

    @property
    def cause(self) -> str:
        """Why a transaction failed, as TransactionTimeout reports it: "Timer B" ..."""
        if self is TxEvent.TIMER_CANCEL:
            return "no final response after CANCEL"
        if self.is_timer:
            return "Timer " + self.name.removeprefix("TIMER_")
        return "transport error"


Row = tuple[State, tuple[str, ...]]
Table = dict[tuple[State | None, TxEvent], Row]

_C = InviteClientState
_NC = NonInviteClientState
_S = InviteServerState
_NS = NonInviteServerState
_E = TxEvent

INVITE_CLIENT: Table = {
    # 17.1.1.2: Timer A only on unreliable transports (start:A is a no-op on reliable ones).
    (None, _E.TU_REQUEST): (_C.CALLING, ("send_request", "start:A", "start:B")),
    (_C.CALLING, _E.TIMER_A): (_C.CALLING, ("retransmit_request", "restart:A")),
    (_C.CALLING, _E.TIMER_B): (_C.TERMINATED, ("timeout",)),
    (_C.CALLING, _E.RECV_1XX): (_C.PROCEEDING, ("cancel:A", "cancel:B", "deliver")),
    # RFC 6026 section 8.4: a 2xx moves to Accepted, which passes every later 2xx up.
    (_C.CALLING, _E.RECV_2XX): (_C.ACCEPTED, ("cancel:A", "cancel:B", "deliver_2xx", "start:M")),
    (_C.CALLING, _E.RECV_FINAL): (
        _C.COMPLETED,
        ("cancel:A", "cancel:B", "send_ack", "deliver", "start:D"),
    ),
    (_C.CALLING, _E.TRANSPORT_ERROR): (_C.TERMINATED, ("timeout",)),
    (_C.PROCEEDING, _E.RECV_1XX): (_C.PROCEEDING, ("deliver",)),
    (_C.PROCEEDING, _E.RECV_2XX): (_C.ACCEPTED, ("deliver_2xx", "start:M")),
    (_C.PROCEEDING, _E.RECV_FINAL): (_C.COMPLETED, ("send_ack", "deliver", "start:D")),
    (_C.PROCEEDING, _E.TRANSPORT_ERROR): (_C.TERMINATED, ("timeout",)),
    # A CANCEL sent in Calling waits for Timer B; in Completed or Accepted it is too late.
    (_C.PROCEEDING, _E.CANCEL_SENT): (_C.PROCEEDING, ("start:CANCEL",)),
    (_C.PROCEEDING, _E.TIMER_CANCEL): (_C.TERMINATED, ("timeout",)),
    # 17.1.1.2: a retransmitted final is answered with the same ACK and not passed up.
    (_C.COMPLETED, _E.RECV_FINAL): (_C.COMPLETED, ("resend_ack",)),
    (_C.COMPLETED, _E.RECV_1XX): (_C.COMPLETED, ()),
    # A 2xx from another fork after a failure: the TU may ACK and BYE it.
    (_C.COMPLETED, _E.RECV_2XX): (_C.COMPLETED, ("stray",)),
    (_C.COMPLETED, _E.TIMER_D): (_C.TERMINATED, ()),
    (_C.ACCEPTED, _E.RECV_2XX): (_C.ACCEPTED, ("deliver_2xx",)),
    (_C.ACCEPTED, _E.RECV_1XX): (_C.ACCEPTED, ()),
    (_C.ACCEPTED, _E.RECV_FINAL): (_C.ACCEPTED, ()),
    (_C.ACCEPTED, _E.TU_ACK_2XX): (_C.ACCEPTED, ("send_ack_2xx",)),
    (_C.ACCEPTED, _E.TIMER_M): (_C.TERMINATED, ()),
}

NON_INVITE_CLIENT: Table = {
    # 17.1.2.2
    (None, _E.TU_REQUEST): (_NC.TRYING, ("send_request", "start:E", "start:F")),
    (_NC.TRYING, _E.TIMER_E): (_NC.TRYING, ("retransmit_request", "restart:E")),
    (_NC.TRYING, _E.TIMER_F): (_NC.TERMINATED, ("timeout",)),
    (_NC.TRYING, _E.RECV_1XX): (_NC.PROCEEDING, ("deliver",)),
    (_NC.TRYING, _E.RECV_FINAL): (
        _NC.COMPLETED,
        ("cancel:E", "cancel:F", "deliver", "start:K"),
    ),
    (_NC.TRYING, _E.TRANSPORT_ERROR): (_NC.TERMINATED, ("timeout",)),
    (_NC.PROCEEDING, _E.TIMER_E): (_NC.PROCEEDING, ("retransmit_request", "restart_at_T2:E")),
    (_NC.PROCEEDING, _E.TIMER_F): (_NC.TERMINATED, ("timeout",)),
    (_NC.PROCEEDING, _E.RECV_1XX): (_NC.PROCEEDING, ("deliver",)),
    (_NC.PROCEEDING, _E.RECV_FINAL): (
        _NC.COMPLETED,
        ("cancel:E", "cancel:F", "deliver", "start:K"),
    ),
    (_NC.PROCEEDING, _E.TRANSPORT_ERROR): (_NC.TERMINATED, ("timeout",)),
    # Completed buffers response retransmissions for Timer K.
    (_NC.COMPLETED, _E.RECV_1XX): (_NC.COMPLETED, ()),
    (_NC.COMPLETED, _E.RECV_FINAL): (_NC.COMPLETED, ()),
    (_NC.COMPLETED, _E.TIMER_K): (_NC.TERMINATED, ()),
}

INVITE_SERVER: Table = {
    # 17.2.1
    (None, _E.RECV_NEW_REQUEST): (_S.PROCEEDING, ("deliver_request", "send_trying")),
    (None, _E.RECV_MERGED_REQUEST): (_S.PROCEEDING, ()),
    (_S.PROCEEDING, _E.RECV_REQUEST): (_S.PROCEEDING, ("resend_response",)),
    (_S.PROCEEDING, _E.TU_1XX): (_S.PROCEEDING, ("send_response",)),
    # RFC 6026 section 8.5; the layer paces the 2xx itself (13.3.1.4) until ACK or Timer L.
    (_S.PROCEEDING, _E.TU_2XX): (
        _S.ACCEPTED,
        ("send_response", "index_accepted", "start:2XX", "start:L"),
    ),
    (_S.PROCEEDING, _E.TU_FINAL): (_S.COMPLETED, ("send_response", "start:G", "start:H")),
    (_S.PROCEEDING, _E.TRANSPORT_ERROR): (_S.TERMINATED, ("timeout",)),
    (_S.COMPLETED, _E.RECV_REQUEST): (_S.COMPLETED, ("resend_response",)),
    (_S.COMPLETED, _E.RECV_ACK): (_S.CONFIRMED, ("cancel:G", "cancel:H", "start:I")),
    (_S.COMPLETED, _E.TIMER_G): (_S.COMPLETED, ("resend_response", "restart:G")),
    (_S.COMPLETED, _E.TIMER_H): (_S.TERMINATED, ("timeout",)),
    (_S.COMPLETED, _E.TRANSPORT_ERROR): (_S.TERMINATED, ("timeout",)),
    # Confirmed absorbs ACK retransmissions until Timer I.
    (_S.CONFIRMED, _E.RECV_REQUEST): (_S.CONFIRMED, ()),
    (_S.CONFIRMED, _E.RECV_ACK): (_S.CONFIRMED, ()),
    (_S.CONFIRMED, _E.TIMER_I): (_S.TERMINATED, ()),
    # RFC 6026 section 8.7: INVITE retransmissions are absorbed, the ACK goes to the TU.
    (_S.ACCEPTED, _E.RECV_REQUEST): (_S.ACCEPTED, ()),
    (_S.ACCEPTED, _E.RECV_ACK): (_S.ACCEPTED, ("accept_ack",)),
    (_S.ACCEPTED, _E.TIMER_2XX): (_S.ACCEPTED, ("resend_response", "restart:2XX")),
    # Stay in Accepted on a transport failure: INVITE copies must still be absorbed.
    (_S.ACCEPTED, _E.TRANSPORT_ERROR): (_S.ACCEPTED, ("cancel:2XX", "timeout_unless_acked")),
    (_S.ACCEPTED, _E.TIMER_L): (_S.TERMINATED, ("timeout_unless_acked",)),
}

NON_INVITE_SERVER: Table = {
    # 17.2.2
    (None, _E.RECV_NEW_REQUEST): (_NS.TRYING, ("deliver_request",)),
    (None, _E.RECV_MERGED_REQUEST): (_NS.TRYING, ()),
    (_NS.TRYING, _E.RECV_REQUEST): (_NS.TRYING, ()),
    (_NS.TRYING, _E.TU_1XX): (_NS.PROCEEDING, ("send_response",)),
    (_NS.TRYING, _E.TU_FINAL): (_NS.COMPLETED, ("send_response", "start:J")),
    (_NS.PROCEEDING, _E.RECV_REQUEST): (_NS.PROCEEDING, ("resend_response",)),
    (_NS.PROCEEDING, _E.TU_1XX): (_NS.PROCEEDING, ("send_response",)),
    (_NS.PROCEEDING, _E.TU_FINAL): (_NS.COMPLETED, ("send_response", "start:J")),
    (_NS.PROCEEDING, _E.TRANSPORT_ERROR): (_NS.TERMINATED, ("timeout",)),
    (_NS.COMPLETED, _E.RECV_REQUEST): (_NS.COMPLETED, ("resend_response",)),
    (_NS.COMPLETED, _E.TIMER_J): (_NS.TERMINATED, ()),
    (_NS.COMPLETED, _E.TRANSPORT_ERROR): (_NS.TERMINATED, ("timeout",)),
}


# Retransmission timers back off after each firing: Timer A doubles without bound
# (17.1.1.2); E, G and the 2xx pacing double up to T2 (17.1.2.2, 17.2.1, 13.3.1.4).
CAPPED_AT_T2 = frozenset({_E.TIMER_E, _E.TIMER_G, _E.TIMER_2XX})


def timer_duration(timer: TxEvent, *, reliable: bool, t1: float, t4: float) -> float | None:
    """Initial value of a timer (RFC 3261 Table 4, RFC 6026); None: not used on this transport.

    Zero means "at once": the transaction leaves the state without waiting. T2 only caps the
    back-off (CAPPED_AT_T2).
    """
    values: dict[TxEvent, float | None] = {
        _E.TIMER_A: None if reliable else t1,
        _E.TIMER_B: 64 * t1,
        # "at least 32 s": long enough to absorb every final the server may retransmit.
        _E.TIMER_D: 0.0 if reliable else max(32.0, 64 * t1),
        _E.TIMER_E: None if reliable else t1,
        _E.TIMER_F: 64 * t1,
        _E.TIMER_G: None if reliable else t1,
        _E.TIMER_H: 64 * t1,
        _E.TIMER_I: 0.0 if reliable else t4,
        _E.TIMER_J: 0.0 if reliable else 64 * t1,
        _E.TIMER_K: 0.0 if reliable else t4,
        _E.TIMER_L: 64 * t1,
        _E.TIMER_M: 64 * t1,
        # 13.3.1.4: the 2xx is retransmitted end to end, whatever the first hop is.
        _E.TIMER_2XX: t1,
        _E.TIMER_CANCEL: 64 * t1,
    }
    return values[timer]


TABLES: dict[str, Table] = {
    "INVITE client": INVITE_CLIENT,
    "non-INVITE client": NON_INVITE_CLIENT,
    "INVITE server": INVITE_SERVER,
    "non-INVITE server": NON_INVITE_SERVER,
}
