// Call queues (呼叫队列): strategy, static members with penalties, timing, what happens when
// nobody answers, announcements.
import { useMemo } from 'preact/hooks';
import { CrudPage } from '../components/CrudPage.jsx';
import { MembersEditor, membersToJson } from '../components/MembersEditor.jsx';
import { useSuggestions } from '../hooks.js';
import { t } from '../i18n/index.js';
import { choices, QUEUE_STRATEGIES, RECORDING_POLICIES } from './options.js';

// Defaults of QueueCreate in the OpenAPI document.
const DEFAULTS = {
  strategy: 'ringall',
  members: [],
  timeout: 15,
  retry: 5,
  wrapup: 10,
  max_wait: 300,
  max_length: 20,
  join_empty: true,
  leave_when_empty: false,
  periodic_interval: 60,
  recording: 'none',
};

function queuePage(extensions, prompts) {
  const promptIds = () => prompts.map((prompt) => prompt.id);
  const SECTION_BASIC = 'queues.section_basic';
  const SECTION_TIMING = 'queues.section_timing';
  const SECTION_FLOW = 'queues.section_flow';
  const SECTION_ANNOUNCE = 'queues.section_announce';
  const integer = (name, hint) => ({
    name,
    label: `queues.${name}`,
    type: 'integer',
    hint,
    section: SECTION_TIMING,
  });
  const flag = (name, section) => ({ name, label: `queues.${name}`, type: 'checkbox', section });
  const prompt = (name) => ({
    name,
    label: `queues.${name}`,
    type: 'text',
    nullable: true,
    datalist: promptIds,
    placeholder: t('queues.prompt_placeholder'),
    section: SECTION_ANNOUNCE,
  });
  return {
    id: 'queues',
    title: 'queues.title',
    singular: 'queues.singular',
    endpoint: '/api/v1/queues',
    idField: 'number',
    wideForm: true,
    canEdit: (user) => user.role === 'admin',
    defaults: DEFAULTS,
    columns: [
      { key: 'number', label: 'queues.number' },
      { key: 'name', label: 'queues.name' },
      { key: 'strategy', label: 'queues.strategy', render: (row) => t(`strategy.${row.strategy}`) },
      {
        key: 'members',
        label: 'queues.members',
        render: (row) => row.members.map((member) => member.extension).join(', ') || '—',
      },
      { key: 'timeout', label: 'queues.timeout', numeric: true },
      { key: 'max_wait', label: 'queues.max_wait', numeric: true },
      { key: 'recording', label: 'queues.recording', render: (row) => t(`recording.${row.recording}`) },
    ],
    fields: [
      {
        name: 'number',
        label: 'queues.number',
        type: 'text',
        inputMode: 'numeric',
        required: true,
        createOnly: true,
        hint: 'queues.number_hint',
        section: SECTION_BASIC,
      },
      { name: 'name', label: 'queues.name', type: 'text', section: SECTION_BASIC },
      {
        name: 'strategy',
        label: 'queues.strategy',
        type: 'select',
        options: choices(QUEUE_STRATEGIES, 'strategy'),
        hint: 'queues.strategy_hint',
        section: SECTION_BASIC,
      },
      {
        name: 'members',
        label: 'queues.members',
        type: 'custom',
        wide: true,
        default: [],
        section: SECTION_BASIC,
        toJson: membersToJson,
        render: (props) => <MembersEditor {...props} extensions={extensions} />,
      },
      integer('timeout', 'queues.timeout_hint'),
      integer('retry', 'queues.retry_hint'),
      integer('wrapup', 'queues.wrapup_hint'),
      integer('max_wait', 'queues.max_wait_hint'),
      integer('max_length', 'queues.max_length_hint'),
      flag('join_empty', SECTION_FLOW),
      flag('leave_when_empty', SECTION_FLOW),
      {
        name: 'overflow',
        label: 'queues.overflow',
        type: 'text',
        nullable: true,
        placeholder: 'queue:600',
        hint: 'queues.overflow_hint',
        section: SECTION_FLOW,
      },
      {
        name: 'recording',
        label: 'queues.recording',
        type: 'select',
        options: choices(RECORDING_POLICIES, 'recording'),
        section: SECTION_FLOW,
      },
      flag('voicemail', SECTION_FLOW),
      flag('survey', SECTION_FLOW),
      prompt('welcome_prompt'),
      prompt('music'),
      flag('announce_position', SECTION_ANNOUNCE),
      flag('announce_wait', SECTION_ANNOUNCE),
      prompt('periodic_prompt'),
      {
        name: 'periodic_interval',
        label: 'queues.periodic_interval',
        type: 'integer',
        hint: 'queues.periodic_interval_hint',
        section: SECTION_ANNOUNCE,
      },
      flag('announce_agent_id', SECTION_ANNOUNCE),
    ],
    describe: (row) => `${row.number} ${row.name}`,
  };
}

export function Queues({ user }) {
  // suggestions for the member and prompt fields (only an admin edits)
  const admin = user.role === 'admin';
  const extensions = useSuggestions(admin ? '/api/v1/extensions' : null);
  const prompts = useSuggestions(admin ? '/api/v1/prompts' : null);
  const page = useMemo(() => queuePage(extensions, prompts), [extensions, prompts]);
  return <CrudPage page={page} user={user} />;
}
