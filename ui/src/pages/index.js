// The pages of the console and who may see them in the navigation. The API decides what a
// role may really do: a page opened by its address without the role shows the API's 403.
import { Agents } from './Agents.jsx';
import { Desk } from './Desk.jsx';
import { Extensions } from './Extensions.jsx';
import { Prompts } from './Prompts.jsx';
import { Queues } from './Queues.jsx';
// live wallboard (issue 7): pushed over /api/v1/live
import { Wallboard } from './Wallboard.jsx';
// supervisor monitoring (issue 7): listen, whisper, barge, hang up
import { LiveCalls } from './LiveCalls.jsx';
// history pages (issue 6): recordings, CDR, reports, operation log, system
import { Cdr } from './Cdr.jsx';
import { OperationLog } from './OperationLog.jsx';
import { Recordings } from './Recordings.jsx';
import { Reports } from './Reports.jsx';
import { System } from './System.jsx';
// administration pages (issue 6): IVRs, ring groups, conference rooms, inbound routes,
// trunks, blacklist, users
import { Blacklist } from './Blacklist.jsx';
import { Conferences } from './Conferences.jsx';
import { InboundRoutes } from './InboundRoutes.jsx';
import { Ivrs } from './Ivrs.jsx';
import { RingGroups } from './RingGroups.jsx';
import { Trunks } from './Trunks.jsx';
import { Users } from './Users.jsx';

const ALL = ['admin', 'supervisor', 'agent'];
const MANAGERS = ['admin', 'supervisor'];
const ADMIN = ['admin'];

// group: a navigation heading (dictionary key `nav.group.<group>`)
const PAGES = [
  { id: 'desk', label: 'nav.desk', group: 'general', roles: ALL, component: Desk },
  { id: 'agents', label: 'nav.agents', group: 'callcenter', roles: MANAGERS, component: Agents },
  {
    id: 'wallboard',
    label: 'nav.wallboard',
    group: 'callcenter',
    roles: MANAGERS,
    component: Wallboard,
  },
  {
    id: 'live-calls',
    label: 'nav.live_calls',
    group: 'callcenter',
    roles: MANAGERS,
    component: LiveCalls,
  },
  { id: 'queues', label: 'nav.queues', group: 'callcenter', roles: MANAGERS, component: Queues },
  // history pages: agents see their own recordings (the API limits them); the CDR API
  // (/api/v1/cdr, /legs) answers admins and supervisors only, so agents get no CDR entry
  { id: 'recordings', label: 'nav.recordings', group: 'records', roles: ALL, component: Recordings },
  { id: 'cdr', label: 'nav.cdr', group: 'records', roles: MANAGERS, component: Cdr },
  { id: 'reports', label: 'nav.reports', group: 'records', roles: MANAGERS, component: Reports },
  {
    id: 'operation-log',
    label: 'nav.operation_log',
    group: 'system',
    roles: ADMIN,
    component: OperationLog,
  },
  { id: 'system', label: 'nav.system', group: 'system', roles: ADMIN, component: System },
  { id: 'extensions', label: 'nav.extensions', group: 'pbx', roles: ADMIN, component: Extensions },
  { id: 'prompts', label: 'nav.prompts', group: 'pbx', roles: ADMIN, component: Prompts },
  // administration pages: supervisors read the call-flow objects and the blacklist (the API
  // refuses their writes; the pages show them read-only), trunks and users are the admin's
  { id: 'ivrs', label: 'nav.ivrs', group: 'callcenter', roles: MANAGERS, component: Ivrs },
  {
    id: 'inbound-routes',
    label: 'nav.inbound_routes',
    group: 'callcenter',
    roles: MANAGERS,
    component: InboundRoutes,
  },
  {
    id: 'ring-groups',
    label: 'nav.ring_groups',
    group: 'pbx',
    roles: MANAGERS,
    component: RingGroups,
  },
  {
    id: 'conferences',
    label: 'nav.conferences',
    group: 'pbx',
    roles: MANAGERS,
    component: Conferences,
  },
  { id: 'trunks', label: 'nav.trunks', group: 'pbx', roles: ADMIN, component: Trunks },
  { id: 'blacklist', label: 'nav.blacklist', group: 'pbx', roles: MANAGERS, component: Blacklist },
  { id: 'users', label: 'nav.users', group: 'system', roles: ADMIN, component: Users },
];

export const GROUPS = ['general', 'callcenter', 'records', 'pbx', 'system'];

export function pagesFor(role) {
  return PAGES.filter((page) => page.roles.includes(role));
}

export function findPage(id) {
  return PAGES.find((page) => page.id === id) || null;
}
