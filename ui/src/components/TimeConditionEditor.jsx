// An inbound route's time condition: working hours (rows of weekdays + from/to), holidays
// (single days or inclusive date ranges) and the timezone they are read in. Off = always open.
// The form keeps {enabled, hours: [{days, from, to}], holidays: [{from, to}], timezone};
// timeConditionToJson() makes the API's object (pbxd/callcenter/timeconditions.py).
import { language, t } from '../i18n/index.js';
import { WEEKDAYS } from '../pages/options.js';
import { ListEditor } from './ListEditor.jsx';

const DEFAULT_TIMEZONE = 'Asia/Shanghai';
const NEW_HOURS = { days: [1, 2, 3, 4, 5], from: '09:00', to: '18:00' };

function holidayToForm(item) {
  if (item && typeof item === 'object') return { from: item.from || '', to: item.to || '' };
  const [from, to = ''] = String(item).split('/');
  return { from, to };
}

/** API value (object or null) -> form value. */
export function timeConditionToForm(condition) {
  if (!condition) {
    return { enabled: false, hours: [{ ...NEW_HOURS }], holidays: [], timezone: DEFAULT_TIMEZONE };
  }
  return {
    enabled: true,
    hours: (condition.hours || []).map((row) => ({
      days: [...row.days],
      from: row.from,
      to: row.to,
    })),
    holidays: (condition.holidays || []).map(holidayToForm),
    timezone: condition.timezone || DEFAULT_TIMEZONE,
  };
}

/** Form value -> API value; what was typed is sent as typed (the server names what is wrong). */
export function timeConditionToJson(value) {
  if (!value || !value.enabled) return null;
  return {
    hours: value.hours.map((row) => ({
      days: [...row.days].sort((a, b) => a - b),
      from: row.from.trim(),
      to: row.to.trim(),
    })),
    holidays: value.holidays.map((row) =>
      row.to && row.to !== row.from ? `${row.from}/${row.to}` : row.from,
    ),
    timezone: value.timezone,
  };
}

/** "周一至周五 09:00-18:00; 1 个节假日" for a table cell. */
export function describeTimeCondition(condition) {
  if (!condition) return t('tc.always_open');
  const parts = (condition.hours || []).map(
    (row) => `${describeDays(row.days)} ${row.from}-${row.to}`,
  );
  if (!parts.length) parts.push(t('tc.all_day'));
  const holidays = (condition.holidays || []).length;
  if (holidays) parts.push(t('tc.holiday_count', { count: holidays }));
  return parts.join('; ');
}

function describeDays(days) {
  const sorted = [...days].sort((a, b) => a - b);
  const consecutive = sorted.every((day, i) => i === 0 || day === sorted[i - 1] + 1);
  if (sorted.length > 2 && consecutive) {
    return t('tc.day_range', {
      from: t(`weekday_short.${sorted[0]}`),
      to: t(`weekday_short.${sorted[sorted.length - 1]}`),
    });
  }
  const names = sorted.map((day) => t(`weekday_short.${day}`));
  try {
    return new Intl.ListFormat(language(), { style: 'narrow', type: 'unit' }).format(names);
  } catch {
    return names.join(', ');
  }
}

let zones = null;
function timezones(current) {
  if (zones === null) {
    try {
      zones = Intl.supportedValuesOf('timeZone');
    } catch {
      zones = [DEFAULT_TIMEZONE, 'UTC'];
    }
  }
  return current && !zones.includes(current) ? [current, ...zones] : zones;
}

export function TimeConditionEditor({ value, onChange, disabled, id, invalid }) {
  const form = value || timeConditionToForm(null);
  const set = (change) => onChange({ ...form, ...change });
  // the input of a row's `field`; attributes: its type, data-part (for tests), aria-label ...
  const inputCell = (row, replace, field, attributes) => (
    <td>
      <input
        value={row[field]}
        disabled={disabled}
        onInput={(event) => replace({ ...row, [field]: event.currentTarget.value })}
        {...attributes}
      />
    </td>
  );
  const time = (part, label, placeholder) => ({
    type: 'text',
    class: 'time',
    inputMode: 'numeric',
    placeholder,
    'data-part': part,
    'aria-label': label,
  });
  const date = (part, label) => ({ type: 'date', 'data-part': part, 'aria-label': label });
  return (
    <div class="time-condition" id={id} data-testid="time-condition">
      <label class="inline-check">
        <input
          type="checkbox"
          data-part="enabled"
          checked={form.enabled}
          disabled={disabled}
          aria-invalid={invalid ? 'true' : undefined}
          onChange={(event) => set({ enabled: event.currentTarget.checked })}
        />
        {t('tc.enabled')}
      </label>
      {!form.enabled && <div class="hint">{t('tc.disabled_hint')}</div>}
      {form.enabled && (
        <>
          <div class="tc-block">
            <div class="tc-head">{t('tc.hours')}</div>
            <ListEditor
              items={form.hours}
              onChange={(hours) => set({ hours })}
              disabled={disabled}
              headers={[t('tc.days'), t('tc.from'), t('tc.to')]}
              emptyText={t('tc.no_hours')}
              rowName="hours"
              cells={(row, index, replace) => (
                <>
                  <td class="days">
                    {WEEKDAYS.map((day) => (
                      <label key={day} class="day" title={t(`weekday.${day}`)}>
                        <input
                          type="checkbox"
                          data-day={day}
                          checked={row.days.includes(day)}
                          disabled={disabled}
                          onChange={() =>
                            replace({
                              ...row,
                              days: row.days.includes(day)
                                ? row.days.filter((d) => d !== day)
                                : [...row.days, day],
                            })
                          }
                        />
                        {t(`weekday_short.${day}`)}
                      </label>
                    ))}
                  </td>
                  {inputCell(row, replace, 'from', time('from', t('tc.from'), '09:00'))}
                  {inputCell(row, replace, 'to', time('to', t('tc.to'), '18:00'))}
                </>
              )}
              newItem={() => ({ ...NEW_HOURS })}
              addLabel={t('tc.add_hours')}
              addTestId="add-hours"
            />
            <div class="hint">{t('tc.hours_hint')}</div>
          </div>
          <div class="tc-block">
            <div class="tc-head">{t('tc.holidays')}</div>
            <ListEditor
              items={form.holidays}
              onChange={(holidays) => set({ holidays })}
              disabled={disabled}
              headers={[t('tc.holiday_from'), t('tc.holiday_to')]}
              emptyText={t('tc.no_holidays')}
              rowName="holiday"
              cells={(row, index, replace) => (
                <>
                  {inputCell(row, replace, 'from', date('holiday-from', t('tc.holiday_from')))}
                  {inputCell(row, replace, 'to', date('holiday-to', t('tc.holiday_to')))}
                </>
              )}
              newItem={() => ({ from: '', to: '' })}
              addLabel={t('tc.add_holiday')}
              addTestId="add-holiday"
            />
            <div class="hint">{t('tc.holidays_hint')}</div>
          </div>
          <div class="tc-block tc-zone">
            <label for={`${id}-timezone`}>{t('tc.timezone')}</label>
            <select
              id={`${id}-timezone`}
              data-part="timezone"
              value={form.timezone}
              disabled={disabled}
              onChange={(event) => set({ timezone: event.currentTarget.value })}
            >
              {timezones(form.timezone).map((zone) => (
                <option key={zone} value={zone}>
                  {zone}
                </option>
              ))}
            </select>
          </div>
        </>
      )}
    </div>
  );
}
