// One editor for a list a form field holds: a compact table, a row per item with its remove
// button (and up / down for an ordered list), an add button under it. Queue members, ring-group
// members and a time condition's hours and holidays are such lists.
import { t } from '../i18n/index.js';
import { EmptyRow } from './Page.jsx';

/**
 * items, onChange(next): the list; disabled: read-only, without buttons.
 * headers: the column titles (text) of the item's cells; emptyText: the row shown for [].
 * cells(item, index, replace): the item's <td>s; replace(next) puts `next` in its place.
 * newItem(items): what "add" appends; addLabel, addTestId: that button's text and test id.
 * rowName: every row carries data-<rowName>={index}. ordered: rows numbered, moved up / down.
 */
export function ListEditor({
  items,
  onChange,
  disabled,
  headers,
  emptyText,
  cells,
  newItem,
  addLabel,
  addTestId,
  rowName,
  ordered,
}) {
  const list = items || [];
  const replace = (index, next) => onChange(list.map((item, i) => (i === index ? next : item)));
  const move = (index, step) => {
    const next = [...list];
    [next[index], next[index + step]] = [next[index + step], next[index]];
    onChange(next);
  };
  const columns = headers.length + (ordered ? 2 : 1); // with # and the buttons' column
  const moveButton = (index, step, label, arrow, last) => (
    <button
      type="button"
      class="small"
      aria-label={t(label)}
      title={t(label)}
      disabled={index === last}
      onClick={() => move(index, step)}
    >
      {arrow}
    </button>
  );
  return (
    <>
      <table class="grid compact">
        <thead>
          <tr>
            {ordered && <th class="num">#</th>}
            {headers.map((header) => (
              <th key={header}>{header}</th>
            ))}
            <th />
          </tr>
        </thead>
        <tbody>
          <EmptyRow columns={columns} rows={list} emptyText={emptyText} />
          {list.map((item, index) => (
            <tr key={index} {...{ [`data-${rowName}`]: index }}>
              {ordered && <td class="num">{index + 1}</td>}
              {cells(item, index, (next) => replace(index, next))}
              <td class="actions">
                {!disabled && (
                  <span class="buttons">
                    {ordered && moveButton(index, -1, 'action.move_up', '↑', 0)}
                    {ordered && moveButton(index, 1, 'action.move_down', '↓', list.length - 1)}
                    <button
                      type="button"
                      class="link danger"
                      onClick={() => onChange(list.filter((_, i) => i !== index))}
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
          data-testid={addTestId}
          onClick={() => onChange([...list, newItem(list)])}
        >
          {addLabel}
        </button>
      )}
    </>
  );
}
