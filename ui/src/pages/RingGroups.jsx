// Ring groups (振铃组): a number that rings several extensions, all at once or in order, then
// goes to a failover destination.
import { useMemo } from 'preact/hooks';
import { CrudPage } from '../components/CrudPage.jsx';
import {
  describeDestination,
  destinationField,
  useTargets,
} from '../components/DestinationPicker.jsx';
import { ListEditor } from '../components/ListEditor.jsx';
import { t } from '../i18n/index.js';
import { choices, RING_GROUP_STRATEGIES } from './options.js';

/** Members in ringing order: one extension per row, moved up or down. */
function MemberList({ value, onChange, disabled, id, extensions }) {
  // extensions: [{value, label}] (loadTargets); a member no list holds is shown as it is
  const choicesFor = (current) =>
    current && !extensions.some((ext) => ext.value === current)
      ? [{ value: current, label: current }, ...extensions]
      : extensions;
  return (
    <div class="members" id={id}>
      <ListEditor
        items={value}
        onChange={onChange}
        disabled={disabled}
        ordered
        headers={[t('ring_groups.member')]}
        emptyText={t('ring_groups.no_members')}
        rowName="member"
        cells={(member, index, replace) => (
          <td>
            <select
              name={`member-${index}`}
              aria-label={t('ring_groups.member')}
              value={member}
              disabled={disabled}
              onChange={(event) => replace(event.currentTarget.value)}
            >
              {!member && <option value="">{t('dest.choose_target')}</option>}
              {choicesFor(member).map((ext) => (
                <option key={ext.value} value={ext.value}>
                  {ext.label}
                </option>
              ))}
            </select>
          </td>
        )}
        newItem={(members) => {
          const used = new Set(members);
          const free = extensions.find((ext) => !used.has(ext.value));
          return free ? free.value : '';
        }}
        addLabel={t('ring_groups.add_member')}
        addTestId="add-member"
      />
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
  const targets = useTargets();
  const page = useMemo(() => ringGroupPage(targets), [targets]);
  return <CrudPage page={page} user={user} />;
}
