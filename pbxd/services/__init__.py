"""The logic layer between storage and the web API: handlers call services, not the ORM."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..db import close_database, open_database
from .agents import AgentListener, AgentQueueView, AgentService, AgentView, LiveAgent
from .backup import BackupRefused, BackupService, RestoreResult
from .blacklist import BlacklistService, BlacklistView, BlockDirection
from .calls import CallControlService, LiveCall, MonitorMode, MonitorView
from .cdr import CdrEntry, CdrService, CdrView, Disposition, HangupSide
from .clock import Clock, utc_now
from .conferences import ConferenceService, ConferenceView
from .configbase import ConfigListener, InUse, LoopRefused, WrongState
from .contacts import ContactPage, ContactService, ContactView
from .dialplan import DialPlan
from .dispositions import DispositionCodeView, DispositionService, DispositionView
from .errors import Conflict, NotFound, ServiceError, ValidationError
from .extensions import ExtensionListener, ExtensionService, ExtensionView
from .history import CallHistory, HistoryService, LegEntry, QueueEventEntry
from .ivrs import IvrService, IvrView
from .masking import Masker, mask_number
from .memos import MemoPage, MemoService, MemoView
from .mycalls import MyCall, MyCallsService
from .oplog import OperationLog, OperationView
from .prompts import PromptService
from .queues import QueueMemberView, QueueService, QueueView
from .recordings import RecordingEntry, RecordingService
from .reports import ReportService
from .ringgroups import RingGroupService, RingGroupView
from .routes import InboundRouteService, InboundRouteView
from .scope import OutOfScope, Scope, scope_for
from .screenpop import ScreenPop, ScreenPopService
from .softphone import SoftphoneInUse, SoftphoneKey, SoftphoneKeys
from .trunks import TrunkService, TrunkView
from .users import Language, LastAdmin, Masking, Role, SessionView, UserService, UserView
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
    # web console (issue 6, m0006)
    "Language",
    "LastAdmin",
    "Masking",
    "OperationLog",
    "OperationView",
    "SessionView",
    "build_services",
    "BackupRefused",
    "BackupService",
    "RestoreResult",
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
    # number masking, supervisor scope, customers and the blacklist (issue 6, m0007)
    "BlacklistService",
    "BlacklistView",
    "BlockDirection",
    "ContactPage",
    "ContactService",
    "ContactView",
    "Masker",
    "OutOfScope",
    "Scope",
    "mask_number",
    "scope_for",
    # live agent calls and supervisor monitoring (issue 7)
    "CallControlService",
    "LiveCall",
    "MonitorMode",
    "MonitorView",
    # screen pop, memos and wrap-up dispositions (issue 7, m0008)
    "DispositionCodeView",
    "DispositionService",
    "DispositionView",
    "MemoPage",
    "MemoService",
    "MemoView",
    "ScreenPop",
    "ScreenPopService",
    # the browser softphone (issue 7)
    "SoftphoneInUse",
    "SoftphoneKey",
    "SoftphoneKeys",
    "MyCall",
    "MyCallsService",
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
    prompts: PromptService  # system prompts and uploads (issue 5)
    reports: ReportService  # statistics over the history (issue 6)
    backup: BackupService  # the configuration as one file
    oplog: OperationLog  # who logged in and changed what through the API (issue 6)
    contacts: ContactService  # the customer directory (m0007): names for number masking
    blacklist: BlacklistService  # numbers whose calls are refused (m0007), served from memory
    # The agent's screen pop, memos on customers, wrap-up dispositions (issue 7, m0008).
    screenpop: ScreenPopService
    memos: MemoService
    dispositions: DispositionService
    softphone: SoftphoneKeys  # SIP keys of browser softphones, bound to console sessions
    mycalls: MyCallsService  # a user's own recent calls, click-to-dial
    calls: CallControlService  # live agent calls: monitoring, hang-up (issue 7)

    def restore_configuration(self, data: bytes) -> RestoreResult:
        """Restore a backup (BackupRefused when it is no good: nothing changed), then tell
        call control and the other listeners what changed, as if each object had been
        edited through its service."""
        config = (self.queues, self.ivrs, self.inbound_routes, self.trunks, self.ring_groups,
                  self.conferences)  # fmt: skip
        before = [service.keys() for service in config]
        extensions_before = {view.number for view in self.extensions.list()}
        result = self.backup.restore(data)
        self.extensions.announce_replaced(extensions_before)
        for service, keys in zip(config, before, strict=True):
            service.announce_replaced(keys)
        self.agents.announce_all()
        self.blacklist.reload()
        return result

    def close(self) -> None:
        """Stop the password worker and close the database (this thread's connection)."""
        self.users.close()
        close_database()


def build_services(
    data_dir: Path, *, clock: Clock = utc_now, prompts_dir: Path | None = None
) -> Services:
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
    # Prompt names in queues/IVRs are checked only against a system prompts directory.
    prompts = PromptService(prompts_dir, data_dir / "prompts", clock)
    prompt_exists = prompts.exists if prompts_dir is not None else None
    users = UserService(clock)
    dispositions = DispositionService(clock)
    return Services(
        extensions=ExtensionService(clock, guard=plan),
        users=users,
        cdr=CdrService(),
        history=HistoryService(recordings),
        recordings=recordings,
        voicemail=VoicemailService(data_dir / VOICEMAIL_DIR),
        queues=QueueService(plan, clock, prompt_exists=prompt_exists),
        agents=AgentService(clock),
        ivrs=IvrService(plan, clock, prompt_exists=prompt_exists),
        inbound_routes=InboundRouteService(plan, clock),
        trunks=TrunkService(clock),
        ring_groups=RingGroupService(plan, clock),
        conferences=ConferenceService(plan, clock),
        prompts=prompts,
        reports=ReportService(),
        backup=BackupService(data_dir / "prompts", clock),
        oplog=OperationLog(clock),
        contacts=ContactService(clock),
        blacklist=BlacklistService(clock),
        screenpop=ScreenPopService(ContactService(clock), dispositions),
        memos=MemoService(clock),
        dispositions=dispositions,
        softphone=SoftphoneKeys(lambda cookie: users.session_for(cookie) is not None),
        mycalls=MyCallsService(),
        calls=CallControlService(users, OperationLog(clock)),
    )
