// Users of the console (用户, admin only): role, password (write-only), the extension the user
// works at, language, the queues a supervisor leads and how much of callers' numbers he sees.
import { useMemo } from 'preact/hooks';
import { CrudPage } from '../components/CrudPage.jsx';
import { valuesFromRecord } from '../components/Form.jsx';
import { useSuggestions } from '../hooks.js';
import { LANGUAGES, t } from '../i18n/index.js';
import { choices, MASKINGS, ROLES } from './options.js';

/** The queues a supervisor leads: a checkbox per queue; other roles lead none. */
function QueueChoice({ value, onChange, disabled, id, values, queues }) {
  const chosen = value || [];
  const supervisor = values && values.role === 'supervisor';
  const all = [...queues];
  for (const number of chosen) {
    if (!all.some((queue) => queue.number === number)) all.push({ number, name: '' });
  }
  if (!supervisor) {
    return (
      <div class="hint" id={id} data-testid="queues-not-supervisor">
        {t('users.queues_supervisor_only')}
      </div>
    );
  }
  return (
    <div class="check-list" id={id}>
      {all.length === 0 && <span class="muted">{t('users.no_queues')}</span>}
      {all.map((queue) => (
        <label key={queue.number} class="inline-check">
          <input
            type="checkbox"
            data-queue={queue.number}
            checked={chosen.includes(queue.number)}
            disabled={disabled}
            onChange={(event) =>
              onChange(
                event.currentTarget.checked
                  ? [...chosen, queue.number]
                  : chosen.filter((number) => number !== queue.number),
              )
            }
          />
          {queue.name ? `${queue.number} ${queue.name}` : queue.number}
        </label>
      ))}
    </div>
  );
}

function userPage(extensions, queues) {
  const fields = [
    {
      name: 'username',
      label: 'users.username',
      type: 'text',
      required: true,
      createOnly: true,
      autoComplete: 'off',
      hint: 'users.username_hint',
    },
    {
      name: 'role',
      label: 'users.role',
      type: 'select',
      options: choices(ROLES, 'role'),
      hint: 'users.role_hint',
    },
    {
      name: 'password',
      label: 'users.password',
      type: 'password',
      required: true,
      writeOnly: true,
      hint: (mode) => (mode === 'edit' ? 'users.password_reset' : 'users.password_hint'),
    },
    {
      name: 'extension',
      label: 'users.extension',
      type: 'select',
      nullable: true,
      options: () => [
        { value: '', label: t('users.no_extension') },
        ...extensions.map((ext) => ({ value: ext.number, label: `${ext.number} ${ext.name}` })),
      ],
      hint: 'users.extension_hint',
    },
    {
      name: 'language',
      label: 'users.language',
      type: 'select',
      options: () => LANGUAGES.map((lang) => ({ value: lang, label: t(`language.${lang}`) })),
    },
    {
      name: 'masking',
      label: 'users.masking',
      type: 'select',
      options: () => [
        { value: '', label: t('users.masking_default') },
        ...MASKINGS.map((value) => ({ value, label: t(`masking.${value}`) })),
      ],
      hint: 'users.masking_hint',
    },
    {
      name: 'queues',
      label: 'users.queues',
      type: 'custom',
      wide: true,
      default: [],
      render: (props) => <QueueChoice {...props} queues={queues} />,
    },
  ];
  return {
    id: 'users',
    title: 'users.title',
    singular: 'users.singular',
    endpoint: '/api/v1/users',
    idField: 'username',
    canEdit: (user) => user.role === 'admin',
    columns: [
      { key: 'username', label: 'users.username' },
      { key: 'role', label: 'users.role', render: (row) => t(`role.${row.role}`) },
      { key: 'extension', label: 'users.extension' },
      { key: 'language', label: 'users.language', render: (row) => t(`language.${row.language}`) },
      {
        key: 'queues',
        label: 'users.queues',
        render: (row) => (row.queues.length ? row.queues.join(', ') : '—'),
      },
      { key: 'masking', label: 'users.masking', render: (row) => t(`masking.${row.masking}`) },
    ],
    fields,
    toForm: (record, mode) => {
      if (mode === 'create') {
        return valuesFromRecord(fields, { role: 'agent', language: 'zh-CN', queues: [] });
      }
      // what the record had, to tell on save whether role or masking were changed
      return { ...valuesFromRecord(fields, record), _role: record.role, _masking: record.masking };
    },
    toBody: (body, values, mode) => {
      const out = { ...body };
      // only a supervisor leads queues; [] clears them for the others
      if (values.role !== 'supervisor') out.queues = [];
      // masking "the role's default" (docs/WEBAUTH.md: all for admins and supervisors, partial
      // for agents), or untouched while the role changes: the server sets the role's default
      if (!values.masking) {
        if (mode === 'edit') out.masking = values.role === 'agent' ? 'partial' : 'all';
        else delete out.masking;
      }
      if (mode === 'edit' && values.role !== values._role && values.masking === values._masking) {
        delete out.masking;
      }
      return out;
    },
    describe: (row) => row.username,
  };
}

export function Users({ user }) {
  const admin = user.role === 'admin';
  const extensions = useSuggestions(admin ? '/api/v1/extensions' : null);
  const queues = useSuggestions(admin ? '/api/v1/queues' : null);
  const page = useMemo(() => userPage(extensions, queues), [extensions, queues]);
  return <CrudPage page={page} user={user} />;
}
