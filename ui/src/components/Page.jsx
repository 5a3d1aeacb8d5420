// What every page is made of: the head with its title and tool bar, messages above the
// content, the row a table shows while it has no rows, the filter box of a list.
import { t } from '../i18n/index.js';

/** The page's title (text) and, when given, its tool bar (buttons, filter, links). */
export function PageHead({ title, children }) {
  return (
    <header class="page-head">
      <h1>{title}</h1>
      {children && <div class="toolbar">{children}</div>}
    </header>
  );
}

/**
 * A message: kind "error" (role alert) or "ok" / "info" (role status); nothing without text.
 * testId: load-error for a failed load, form-error for a refused form (the tests look there).
 */
export function Alert({ kind = 'error', testId, children }) {
  if (!children) return null;
  return (
    <div class={`alert ${kind}`} role={kind === 'error' ? 'alert' : 'status'} data-testid={testId}>
      {children}
    </div>
  );
}

/**
 * The one row of a table with nothing to list: "loading" while `loading` (by default until
 * `rows` come), else `emptyText`; no row once `rows` has some.
 */
export function EmptyRow({ columns, rows, emptyText, loading = !rows }) {
  if (rows && rows.length > 0) return null;
  return (
    <tr>
      <td colSpan={columns} class="empty">
        {loading ? t('common.loading') : emptyText}
      </td>
    </tr>
  );
}

/** The filter box of a list page (the page decides what it searches). */
export function FilterInput({ value, onChange }) {
  return (
    <input
      type="search"
      class="filter"
      placeholder={t('common.filter')}
      aria-label={t('common.filter')}
      value={value}
      onInput={(event) => onChange(event.currentTarget.value)}
    />
  );
}

/** Whether `needle` (trimmed, any case) is in one of `texts`; an empty needle matches. */
export function matchesFilter(needle, texts) {
  const wanted = needle.trim().toLowerCase();
  return !wanted || texts.some((text) => String(text).toLowerCase().includes(wanted));
}
