"""The logic layer between storage and the web API: handlers call services, not the ORM."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..db import close_database, open_database
from .agents import AgentListener, AgentQueueView, AgentService, AgentView, LiveAgent
from .cdr import CdrEntry, CdrService, CdrView, Disposition, HangupSide
from .clock import Clock, utc_now
from .conferences import ConferenceService, ConferenceView
from .configbase import ConfigListener, InUse, LoopRefused, WrongState
from .dialplan import DialPlan
from .errors import Conflict, NotFound, ServiceError, ValidationError
from .extensions import ExtensionListener, ExtensionService, ExtensionView
from .history import CallHistory, HistoryService, LegEntry, QueueEventEntry
from .ivrs import IvrService, IvrView
from .queues import QueueMemberView, QueueService, QueueView
from .recordings import RecordingEntry, RecordingService
from .ringgroups import RingGroupService, RingGroupView
from .routes import InboundRouteService, InboundRouteView
from .trunks import TrunkService, TrunkView
from .users import Role, UserService, UserView
from .voicemail_index import VoicemailEntry, VoicemailService

__all__ = [
    "DATABASE_FILE",
    "CdrEntry",
    "CdrService",
    "CdrView",
    "Clock",
    "Conflict",
    "Disposition",
    "ExtensionListener",
    "ExtensionService",
    "ExtensionView",
    "HangupSide",
    "NotFound",
    "Role",
    "ServiceError",
    "Services",
    "UserService",
    "UserView",
    "ValidationError",
    "build_services",
    "CallHistory",
    "HistoryService",
    "LegEntry",
    "QueueEventEntry",
    "RecordingEntry",
    "RecordingService",
    "VoicemailEntry",
    "VoicemailService",
    # call-center configuration (m0002)
    "AgentListener",
    "AgentQueueView",
    "AgentService",
    "AgentView",
    "LiveAgent",
    "ConferenceService",
    "ConferenceView",
    "ConfigListener",
    "DialPlan",
    "InUse",
    "InboundRouteService",
    "InboundRouteView",
    "IvrService",
    "IvrView",
    "LoopRefused",
    "QueueMemberView",
    "QueueService",
    "QueueView",
    "RingGroupService",
    "RingGroupView",
    "TrunkService",
    "TrunkView",
    "WrongState",
]

DATABASE_FILE = "pbxd.sqlite3"
RECORDINGS_DIR = "recordings"  # <data-dir>/recordings/, as pbxd.daemon repairs it
VOICEMAIL_DIR = "voicemail"


@dataclass(frozen=True)
class Services:
    extensions: ExtensionService
    users: UserService
    cdr: CdrService
    # History (m0003): `history.record_call` runs on the CDR worker thread.
    history: HistoryService
    recordings: RecordingService
    voicemail: VoicemailService
    # Call-center configuration (m0002); each has subscribe() for the runtime to follow.
    queues: QueueService
    agents: AgentService
    ivrs: IvrService
    inbound_routes: InboundRouteService
    trunks: TrunkService
    ring_groups: RingGroupService
    conferences: ConferenceService

    def close(self) -> None:
        """Stop the password worker and close the database (this thread's connection)."""
        self.users.close()
        close_database()


def build_services(data_dir: Path, *, clock: Clock = utc_now) -> Services:
    """Open the database in `data_dir` (migrating it) and build the services on it.

    Close with `Services.close()` at shutdown. The services are synchronous and meant for the
    loop thread; `CdrService.record`, `HistoryService.record_call`/`append_events` and the
    index writers (`RecordingService.index`, `VoicemailService.add`) may also run on a worker
    thread (they keep no state).
    Extension listeners run in the thread that made the change.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    open_database(data_dir / DATABASE_FILE)
    recordings = RecordingService(data_dir / RECORDINGS_DIR)
    plan = DialPlan()  # one dial plan and destination graph across the configuration
    return Services(
        extensions=ExtensionService(clock, guard=plan),
        users=UserService(clock),
        cdr=CdrService(),
        history=HistoryService(recordings),
        recordings=recordings,
        voicemail=VoicemailService(data_dir / VOICEMAIL_DIR),
        queues=QueueService(plan, clock),
        agents=AgentService(clock),
        ivrs=IvrService(plan, clock),
        inbound_routes=InboundRouteService(plan, clock),
        trunks=TrunkService(clock),
        ring_groups=RingGroupService(plan, clock),
        conferences=ConferenceService(plan, clock),
    )
