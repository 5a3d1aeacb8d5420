import { CrudPage } from '../components/CrudPage.jsx';
import { t } from '../i18n/index.js';
import { choices, RECORDING_POLICIES, yesNo } from './options.js';

const PAGE = {
  id: 'extensions',
  title: 'extensions.title',
  singular: 'extensions.singular',
  endpoint: '/api/v1/extensions',
  idField: 'number',
  canEdit: (user) => user.role === 'admin',
  defaults: { recording: 'none', voicemail: false },
  columns: [
    { key: 'number', label: 'extensions.number' },
    { key: 'name', label: 'extensions.name' },
    {
      key: 'recording',
      label: 'extensions.recording',
      render: (row) => t(`recording.${row.recording}`),
    },
    { key: 'voicemail', label: 'extensions.voicemail', render: (row) => yesNo(row.voicemail) },
    {
      key: 'voicemail_pin_set',
      label: 'extensions.voicemail_pin_set',
      render: (row) => yesNo(row.voicemail_pin_set),
    },
  ],
  fields: [
    {
      name: 'number',
      label: 'extensions.number',
      type: 'text',
      inputMode: 'numeric',
      required: true,
      createOnly: true,
      hint: 'extensions.number_hint',
    },
    { name: 'name', label: 'extensions.name', type: 'text', required: true },
    {
      name: 'secret',
      label: 'extensions.secret',
      type: 'password',
      required: true,
      writeOnly: true,
      hint: (mode) => (mode === 'edit' ? 'extensions.secret_keep' : 'extensions.secret_hint'),
    },
    {
      name: 'recording',
      label: 'extensions.recording',
      type: 'select',
      options: choices(RECORDING_POLICIES, 'recording'),
    },
    { name: 'voicemail', label: 'extensions.voicemail', type: 'checkbox' },
    {
      name: 'voicemail_pin',
      label: 'extensions.voicemail_pin',
      type: 'password',
      inputMode: 'numeric',
      writeOnly: true,
      hint: (mode) => (mode === 'edit' ? 'extensions.pin_keep' : 'extensions.pin_hint'),
    },
  ],
  describe: (row) => `${row.number} ${row.name}`,
};

export function Extensions({ user }) {
  return <CrudPage page={PAGE} user={user} />;
}
