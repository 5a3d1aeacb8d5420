// An inbound route's time condition: working hours (rows of weekdays + from/to), holidays
// (single days or inclusive date ranges) and the timezone they are read in. Off = always open.
// The form keeps {enabled, hours: [{days, from, to}], holidays: [{from, to}], timezone};
// timeConditionToJson() makes the API's object (pbxd/callcenter/timeconditions.py).
import { language, t } from '../i18n/index.js';
import { WEEKDAYS } from '../pages/options.js';

export const DEFAULT_TIMEZONE = 'Asia/Shanghai';
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
  const setRow = (list, index, change) =>
    set({ [list]: form[list].map((row, i) => (i === index ? { ...row, ...change } : row)) });
  const removeRow = (list, index) => set({ [list]: form[list].filter((_, i) => i !== index) });
  const toggleDay = (index, day) => {
    const days = form.hours[index].days;
    setRow('hours', index, {
      days: days.includes(day) ? days.filter((d) => d !== day) : [...days, day],
    });
  };
  const invalidAttr = invalid ? 'true' : undefined;
  return (
    <div class="time-condition" id={id} data-testid="time-condition">
      <label class="inline-check">
        <input
          type="checkbox"
          data-part="enabled"
          checked={form.enabled}
          disabled={disabled}
          aria-invalid={invalidAttr}
          onChange={(event) => set({ enabled: event.currentTarget.checked })}
        />
        {t('tc.enabled')}
      </label>
      {!form.enabled && <div class="hint">{t('tc.disabled_hint')}</div>}
      {form.enabled && (
        <>
          <div class="tc-block">
            <div class="tc-head">{t('tc.hours')}</div>
            <table class="grid compact">
              <thead>
                <tr>
                  <th>{t('tc.days')}</th>
                  <th>{t('tc.from')}</th>
                  <th>{t('tc.to')}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {form.hours.length === 0 && (
                  <tr>
                    <td colSpan={4} class="empty">
                      {t('tc.no_hours')}
                    </td>
                  </tr>
                )}
                {form.hours.map((row, index) => (
                  <tr key={index} data-hours={index}>
                    <td class="days">
                      {WEEKDAYS.map((day) => (
                        <label key={day} class="day" title={t(`weekday.${day}`)}>
                          <input
                            type="checkbox"
                            data-day={day}
                            checked={row.days.includes(day)}
                            disabled={disabled}
                            onChange={() => toggleDay(index, day)}
                          />
                          {t(`weekday_short.${day}`)}
                        </label>
                      ))}
                    </td>
                    <td>
                      <input
                        type="text"
                        class="time"
                        data-part="from"
                        inputMode="numeric"
                        placeholder="09:00"
                        aria-label={t('tc.from')}
                        value={row.from}
                        disabled={disabled}
                        onInput={(event) =>
                          setRow('hours', index, { from: event.currentTarget.value })
                        }
                      />
                    </td>
                    <td>
                      <input
                        type="text"
                        class="time"
                        data-part="to"
                        inputMode="numeric"
                        placeholder="18:00"
                        aria-label={t('tc.to')}
                        value={row.to}
                        disabled={disabled}
                        onInput={(event) =>
                          setRow('hours', index, { to: event.currentTarget.value })
                        }
                      />
                    </td>
                    <td class="actions">
                      {!disabled && (
                        <button
                          type="button"
                          class="link danger"
                          onClick={() => removeRow('hours', index)}
                        >
                          {t('action.remove')}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {!disabled && (
              <button
                type="button"
                data-testid="add-hours"
                onClick={() => set({ hours: [...form.hours, { ...NEW_HOURS }] })}
              >
                {t('tc.add_hours')}
              </button>
            )}
            <div class="hint">{t('tc.hours_hint')}</div>
          </div>
          <div class="tc-block">
            <div class="tc-head">{t('tc.holidays')}</div>
            <table class="grid compact">
              <thead>
                <tr>
                  <th>{t('tc.holiday_from')}</th>
                  <th>{t('tc.holiday_to')}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {form.holidays.length === 0 && (
                  <tr>
                    <td colSpan={3} class="empty">
                      {t('tc.no_holidays')}
                    </td>
                  </tr>
                )}
                {form.holidays.map((row, index) => (
                  <tr key={index} data-holiday={index}>
                    <td>
                      <input
                        type="date"
                        data-part="holiday-from"
                        aria-label={t('tc.holiday_from')}
                        value={row.from}
                        disabled={disabled}
                        onInput={(event) =>
                          setRow('holidays', index, { from: event.currentTarget.value })
                        }
                      />
                    </td>
                    <td>
                      <input
                        type="date"
                        data-part="holiday-to"
                        aria-label={t('tc.holiday_to')}
                        value={row.to}
                        disabled={disabled}
                        onInput={(event) =>
                          setRow('holidays', index, { to: event.currentTarget.value })
                        }
                      />
                    </td>
                    <td class="actions">
                      {!disabled && (
                        <button
                          type="button"
                          class="link danger"
                          onClick={() => removeRow('holidays', index)}
                        >
                          {t('action.remove')}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {!disabled && (
              <button
                type="button"
                data-testid="add-holiday"
                onClick={() => set({ holidays: [...form.holidays, { from: '', to: '' }] })}
              >
                {t('tc.add_holiday')}
              </button>
            )}
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
