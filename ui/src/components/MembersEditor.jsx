// Queue members: [{extension, penalty}], edited as rows. Penalty stays text while typed.
import { t } from '../i18n/index.js';
import { ListEditor } from './ListEditor.jsx';

const INTEGER = /^\d+$/;

export function membersToJson(members) {
  return (members || []).map((member) => {
    const entry = { extension: String(member.extension || '').trim() };
    const penalty = member.penalty === undefined || member.penalty === null ? '' : String(member.penalty).trim();
    if (penalty !== '') entry.penalty = INTEGER.test(penalty) ? Number(penalty) : penalty;
    return entry;
  });
}

export function MembersEditor({ value, onChange, disabled, id, extensions }) {
  const listId = `${id}-extensions`;
  const headers = [t('queues.member_extension'), t('queues.member_penalty')];
  const input = (name, label, member, index, replace, props) => (
    <td>
      <input
        type="text"
        inputMode="numeric"
        aria-label={label}
        name={`member-${name}-${index}`}
        value={member[name] ?? ''}
        disabled={disabled}
        onInput={(event) => replace({ ...member, [name]: event.currentTarget.value })}
        {...props}
      />
    </td>
  );
  return (
    <div class="members" id={id}>
      <ListEditor
        items={value}
        onChange={onChange}
        disabled={disabled}
        headers={headers}
        emptyText={t('queues.no_members')}
        rowName="member"
        cells={(member, index, replace) => (
          <>
            {input('extension', headers[0], member, index, replace, { list: listId })}
            {input('penalty', headers[1], member, index, replace, { class: 'short' })}
          </>
        )}
        newItem={() => ({ extension: '', penalty: '0' })}
        addLabel={t('queues.add_member')}
        addTestId="add-member"
      />
      <datalist id={listId}>
        {(extensions || []).map((ext) => (
          <option key={ext.number} value={ext.number}>
            {ext.name}
          </option>
        ))}
      </datalist>
    </div>
  );
}
