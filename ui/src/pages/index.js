// The pages of the console and who may see them in the navigation. The API decides what a
// role may really do: a page opened by its address without the role shows the API's 403.
import { Agents } from './Agents.jsx';
import { Desk } from './Desk.jsx';
import { Extensions } from './Extensions.jsx';
import { Prompts } from './Prompts.jsx';
import { Queues } from './Queues.jsx';

const ALL = ['admin', 'supervisor', 'agent'];
const MANAGERS = ['admin', 'supervisor'];
const ADMIN = ['admin'];

// group: a navigation heading (dictionary key `nav.group.<group>`)
export const PAGES = [
  { id: 'desk', label: 'nav.desk', group: 'general', roles: ALL, component: Desk },
  { id: 'agents', label: 'nav.agents', group: 'callcenter', roles: MANAGERS, component: Agents },
  { id: 'queues', label: 'nav.queues', group: 'callcenter', roles: MANAGERS, component: Queues },
  { id: 'extensions', label: 'nav.extensions', group: 'pbx', roles: ADMIN, component: Extensions },
  { id: 'prompts', label: 'nav.prompts', group: 'pbx', roles: ADMIN, component: Prompts },
];

export const GROUPS = ['general', 'callcenter', 'pbx', 'system'];

export function pagesFor(role) {
  return PAGES.filter((page) => page.roles.includes(role));
}

export function findPage(id) {
  return PAGES.find((page) => page.id === id) || null;
}
