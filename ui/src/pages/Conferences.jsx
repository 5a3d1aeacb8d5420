// Conference rooms (会议室): a number callers dial into, an optional PIN, a moderator PIN and
// a size limit.
import { CrudPage } from '../components/CrudPage.jsx';
import { t } from '../i18n/index.js';

const PAGE = {
  id: 'conferences',
  title: 'conferences.title',
  singular: 'conferences.singular',
  endpoint: '/api/v1/conferences',
  idField: 'number',
  canEdit: (user) => user.role === 'admin',
  defaults: { max_members: 10 },
  columns: [
    { key: 'number', label: 'conferences.number' },
    { key: 'name', label: 'conferences.name' },
    {
      key: 'pin',
      label: 'conferences.pin',
      render: (row) => (row.pin ? t('conferences.pin_set') : t('conferences.open_room')),
    },
    {
      key: 'moderator_pin',
      label: 'conferences.moderator_pin',
      render: (row) => (row.moderator_pin ? t('conferences.pin_set') : '—'),
    },
    { key: 'max_members', label: 'conferences.max_members', numeric: true },
  ],
  fields: [
    {
      name: 'number',
      label: 'conferences.number',
      type: 'text',
      inputMode: 'numeric',
      required: true,
      createOnly: true,
      hint: 'conferences.number_hint',
    },
    { name: 'name', label: 'conferences.name', type: 'text' },
    {
      name: 'pin',
      label: 'conferences.pin',
      type: 'text',
      inputMode: 'numeric',
      nullable: true,
      hint: 'conferences.pin_hint',
    },
    {
      name: 'moderator_pin',
      label: 'conferences.moderator_pin',
      type: 'text',
      inputMode: 'numeric',
      nullable: true,
      hint: 'conferences.moderator_pin_hint',
    },
    {
      name: 'max_members',
      label: 'conferences.max_members',
      type: 'integer',
      hint: 'conferences.max_members_hint',
    },
  ],
  describe: (row) => `${row.number} ${row.name}`,
};

export function Conferences({ user }) {
  return <CrudPage page={PAGE} user={user} />;
}
