// Queue members: [{extension, penalty}], edited as rows. Penalty stays text while typed.
import { t } from '../i18n/index.js';

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
  const members = value || [];
  const update = (index, change) =>
    onChange(members.map((member, i) => (i === index ? { ...member, ...change } : member)));
  const listId = `${id}-extensions`;
  return (
    <div class="members" id={id}>
      <table class="grid compact">
        <thead>
          <tr>
            <th>{t('queues.member_extension')}</th>
            <th>{t('queues.member_penalty')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {members.length === 0 && (
            <tr>
              <td colSpan={3} class="empty">
                {t('queues.no_members')}
              </td>
            </tr>
          )}
          {members.map((member, index) => (
            <tr key={index} data-member={index}>
              <td>
                <input
                  type="text"
                  inputMode="numeric"
                  list={listId}
                  aria-label={t('queues.member_extension')}
                  name={`member-extension-${index}`}
                  value={member.extension}
                  disabled={disabled}
                  onInput={(event) => update(index, { extension: event.currentTarget.value })}
                />
              </td>
              <td>
                <input
                  type="text"
                  inputMode="numeric"
                  class="short"
                  aria-label={t('queues.member_penalty')}
                  name={`member-penalty-${index}`}
                  value={member.penalty ?? ''}
                  disabled={disabled}
                  onInput={(event) => update(index, { penalty: event.currentTarget.value })}
                />
              </td>
              <td>
                <button
                  type="button"
                  class="link danger"
                  disabled={disabled}
                  onClick={() => onChange(members.filter((_, i) => i !== index))}
                >
                  {t('action.remove')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <datalist id={listId}>
        {(extensions || []).map((ext) => (
          <option key={ext.number} value={ext.number}>
            {ext.name}
          </option>
        ))}
      </datalist>
      {!disabled && (
        <button
          type="button"
          data-testid="add-member"
          onClick={() => onChange([...members, { extension: '', penalty: '0' }])}
        >
          {t('queues.add_member')}
        </button>
      )}
    </div>
  );
}
