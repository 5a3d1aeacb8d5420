// Blacklist (黑名单): numbers, or prefixes ending in *, refused inbound, outbound or both ways;
// with how often each entry refused a call. Admins edit, supervisors read.
import { CrudPage } from '../components/CrudPage.jsx';
import { formatDateTime } from '../format.js';
import { t } from '../i18n/index.js';
import { BLACKLIST_DIRECTIONS, choices } from './options.js';

const PAGE = {
  id: 'blacklist',
  title: 'blacklist.title',
  singular: 'blacklist.singular',
  endpoint: '/api/v1/blacklist',
  idField: 'id',
  canEdit: (user) => user.role === 'admin',
  defaults: { direction: 'both', note: '' }, // the API's defaults
  columns: [
    { key: 'number', label: 'blacklist.number' },
    {
      key: 'direction',
      label: 'blacklist.direction',
      render: (row) => t(`bl_direction.${row.direction}`),
    },
    { key: 'note', label: 'blacklist.note' },
    { key: 'hits', label: 'blacklist.hits', numeric: true },
    {
      key: 'last_hit',
      label: 'blacklist.last_hit',
      render: (row) => (row.last_hit ? formatDateTime(row.last_hit) : '—'),
    },
    {
      key: 'created_at',
      label: 'blacklist.created_at',
      render: (row) => formatDateTime(row.created_at) || '—',
    },
  ],
  fields: [
    {
      name: 'number',
      label: 'blacklist.number',
      type: 'text',
      required: true,
      hint: 'blacklist.number_hint',
    },
    {
      name: 'direction',
      label: 'blacklist.direction',
      type: 'select',
      options: choices(BLACKLIST_DIRECTIONS, 'bl_direction'),
    },
    { name: 'note', label: 'blacklist.note', type: 'textarea', rows: 2 },
  ],
  // an emptied note is sent as '' (the generic form leaves empty optional texts out)
  toBody: (body, values) => ({ ...body, note: String(values.note || '').trim() }),
  describe: (row) => row.number,
  recordName: (row) => row.number,
};

export function Blacklist({ user }) {
  return <CrudPage page={PAGE} user={user} />;
}
