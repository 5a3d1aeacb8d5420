// Ring groups (振铃组): a number that rings several extensions, all at once or in order, then
// goes to a failover destination.
import { useMemo } from 'preact/hooks';
import { CrudPage } from '../components/CrudPage.jsx';
import {
  describeDestination,
  destinationField,
  useTargets,
} from '../components/DestinationPicker.jsx';
import { t } from '../i18n/index.js';
import { choices, RING_GROUP_STRATEGIES } from './options.js';

/** Members in ringing order: one extension per row, moved up or down. */
function MemberList({ value, onChange, disabled, id, extensions }) {
  const members = value || [];
  const move = (index, step) => {
    const next = [...members];
    [next[index], next[index + step]] = [next[index + step], next[index]];
    onChange(next);
  };
  // extensions: [{value, label}] (loadTargets); a member no list holds is shown as it is
  const choicesFor = (current) =>
    current && !extensions.some((ext) => ext.value === current)
      ? [{ value: current, label: current }, ...extensions]
      : extensions;
  return (
    <div class="members" id={id}>
      <table class="grid compact">
        <thead>
          <tr>
            <th class="num">#</th>
            <th>{t('ring_groups.member')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {members.length === 0 && (
            <tr>
              <td colSpan={3} class="empty">
                {t('ring_groups.no_members')}
              </td>
            </tr>
          )}
          {members.map((member, index) => (
            <tr key={index} data-member={index}>
              <td class="num">{index + 1}</td>
              <td>
                <select
                  name={`member-${index}`}
                  aria-label={t('ring_groups.member')}
                  value={member}
                  disabled={disabled}
                  onChange={(event) =>
                    onChange(members.map((m, i) => (i === index ? event.currentTarget.value : m)))
                  }
                >
                  {!member && <option value="">{t('dest.choose_target')}</option>}
                  {choicesFor(member).map((ext) => (
                    <option key={ext.value} value={ext.value}>
                      {ext.label}
                    </option>
                  ))}
                </select>
              </td>
              <td class="actions">
                {!disabled && (
                  <span class="buttons">
                    <button
                      type="button"
                      class="small"
                      aria-label={t('ring_groups.move_up')}
                      title={t('ring_groups.move_up')}
                      disabled={index === 0}
                      onClick={() => move(index, -1)}
                    >
                      ↑
                    </button>
                    <button
                      type="button"
                      class="small"
                      aria-label={t('ring_groups.move_down')}
                      title={t('ring_groups.move_down')}
                      disabled={index === members.length - 1}
                      onClick={() => move(index, 1)}
                    >
                      ↓
                    </button>
                    <button
                      type="button"
                      class="link danger"
                      onClick={() => onChange(members.filter((_, i) => i !== index))}
                    >
                      {t('action.remove')}
                    </button>
                  </span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!disabled && (
        <button
          type="button"
          data-testid="add-member"
          onClick={() => {
            const used = new Set(members);
            const free = extensions.find((ext) => !used.has(ext.value));
            onChange([...members, free ? free.value : '']);
          }}
        >
          {t('ring_groups.add_member')}
        </button>
      )}
    </div>
  );
}

function ringGroupPage(targets) {
  return {
    id: 'ring-groups',
    title: 'ring_groups.title',
    singular: 'ring_groups.singular',
    endpoint: '/api/v1/ring-groups',
    idField: 'number',
    wideForm: true,
    canEdit: (user) => user.role === 'admin',
    defaults: { strategy: 'ringall', members: [], timeout: 20, failover: null },
    columns: [
      { key: 'number', label: 'ring_groups.number' },
      { key: 'name', label: 'ring_groups.name' },
      {
        key: 'strategy',
        label: 'ring_groups.strategy',
        render: (row) => t(`rg_strategy.${row.strategy}`),
      },
      {
        key: 'members',
        label: 'ring_groups.members',
        render: (row) => row.members.join(', ') || '—',
      },
      { key: 'timeout', label: 'ring_groups.timeout', numeric: true },
      {
        key: 'failover',
        label: 'ring_groups.failover',
        render: (row) => describeDestination(row.failover, t('ring_groups.failover_none')),
      },
    ],
    fields: [
      {
        name: 'number',
        label: 'ring_groups.number',
        type: 'text',
        inputMode: 'numeric',
        required: true,
        createOnly: true,
        hint: 'ring_groups.number_hint',
      },
      { name: 'name', label: 'ring_groups.name', type: 'text' },
      {
        name: 'strategy',
        label: 'ring_groups.strategy',
        type: 'select',
        options: choices(RING_GROUP_STRATEGIES, 'rg_strategy'),
      },
      {
        name: 'timeout',
        label: 'ring_groups.timeout',
        type: 'integer',
        hint: 'ring_groups.timeout_hint',
      },
      {
        name: 'members',
        label: 'ring_groups.members',
        type: 'custom',
        wide: true,
        default: [],
        toJson: (members) => members.map((member) => String(member).trim()),
        render: (props) => <MemberList {...props} extensions={targets.extension || []} />,
      },
      destinationField('failover', 'ring_groups.failover', targets, {
        noneLabel: 'ring_groups.failover_none',
        hint: 'ring_groups.failover_hint',
        wide: true,
      }),
    ],
    describe: (row) => `${row.number} ${row.name}`,
  };
}

export function RingGroups({ user }) {
  const [targets] = useTargets();
  const page = useMemo(() => ringGroupPage(targets), [targets]);
  return <CrudPage page={page} user={user} />;
}
