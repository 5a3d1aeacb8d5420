// What the history pages share (recordings, CDR, reports, operation log): a search form of
// small labelled fields and the state behind it (useSearch), local calendar dates turned into
// the API's times, query strings for links (CSV, zip), a pager and the CSV export link.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { t } from '../i18n/index.js';
import { splitError } from './errors.js';
import { FieldError } from './Form.jsx';

/** 'YYYY-MM-DD' of `date` in the browser's time zone. */
export function localDate(date = new Date()) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function daysAgo(days) {
  const date = new Date();
  date.setDate(date.getDate() - days);
  return localDate(date);
}

export function firstOfMonth() {
  const date = new Date();
  date.setDate(1);
  return localDate(date);
}

function parseLocal(value) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
  return match ? new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : null;
}

/**
 * The first instant of local date `value` as an ISO time (UTC), `days` later when given;
 * a value that is not a date is passed on as typed, so that the server names the field.
 */
export function dayStart(value, days = 0) {
  if (!value) return undefined;
  const date = parseLocal(value);
  if (!date) return value;
  date.setDate(date.getDate() + days);
  return date.toISOString();
}

/** The browser's IANA time zone (Intl), or undefined: the server's default then applies. */
export function browserTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || undefined;
  } catch {
    return undefined;
  }
}

/** '?a=1&b=x' from an object; empty values are left out, arrays repeat the parameter. */
export function queryString(params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) {
      if (item === undefined || item === null || String(item).trim() === '') continue;
      query.append(name, String(item).trim());
    }
  }
  const text = query.toString();
  return text ? `?${text}` : '';
}

/**
 * The API's parameters for a search form's values: a date as the first instant of that local
 * day (of the day after for a `lastDay` field, so that its day counts whole), the rest as typed.
 */
function fieldsQuery(fields, values) {
  const query = {};
  for (const field of fields) {
    const value = values[field.name];
    query[field.name] = field.type === 'date' ? dayStart(value, field.lastDay ? 1 : 0) : value;
  }
  return query;
}

/**
 * The state of a search page.
 *   fields: the SearchForm's fields (the server's error for one of them goes under it)
 *   initial(): the form's first values (and those of "reset")
 *   path, pageSize: GET path?query&limit&offset answers a page ({items, total, ...})
 *   fetchPage(query, offset): instead of that GET, for an API of another shape
 *   toQuery(values): the API's parameters for the form's values (default: fieldsQuery)
 *   empty: the result shown when the first search fails
 * Returns { values, applied (the query of the result shown), offset, result, setResult,
 * error, busy, load(query, offset), form (props for SearchForm), pager (props for Pager) }.
 * A failed search keeps the result shown and the query it came from.
 */
export function useSearch({
  fields,
  initial,
  path,
  pageSize,
  fetchPage = (query, offset) =>
    api('GET', `${path}${queryString({ ...query, limit: pageSize, offset })}`),
  toQuery = (values) => fieldsQuery(fields, values),
  empty = null,
}) {
  const [values, setValues] = useState(initial);
  const [applied, setApplied] = useState(() => toQuery(initial()));
  const [offset, setOffset] = useState(0);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [fieldErrors, setFieldErrors] = useState({});
  const [busy, setBusy] = useState(false);

  const load = async (query, at = 0) => {
    setBusy(true);
    try {
      setResult(await fetchPage(query, at));
      setApplied(query);
      setOffset(at);
      setError(null);
      setFieldErrors({});
    } catch (err) {
      const split = splitError(err, fields.map((field) => field.name));
      setFieldErrors(split.fields);
      setError(split.form);
      setResult((old) => old || empty);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    load(applied, 0);
  }, []);

  const form = {
    fields,
    values,
    errors: fieldErrors,
    busy,
    onChange: (name, value) => setValues((old) => ({ ...old, [name]: value })),
    onSubmit: () => load(toQuery(values), 0),
    onReset: () => {
      const fresh = initial();
      setValues(fresh);
      load(toQuery(fresh), 0);
    },
  };
  const pager = {
    offset,
    limit: pageSize,
    count: result && result.items ? result.items.length : 0,
    total: result ? result.total : undefined,
    more: result ? result.more : false,
    busy,
    onPage: (at) => load(applied, at),
  };
  return { values, applied, offset, result, setResult, error, busy, load, form, pager };
}

/**
 * The search panel. fields: [{ name, label, type: 'date' | 'text' | 'select', options?,
 * placeholder?, suggestions?, lastDay? }]; suggestions: [{value, label}] offered while typing
 * (a datalist). errors: {name: message} from the server (splitError).
 */
export function SearchForm({ id, fields, values, errors, onChange, onSubmit, onReset, busy }) {
  const submit = (event) => {
    event.preventDefault();
    onSubmit();
  };
  return (
    <form class="panel search-form" onSubmit={submit} novalidate data-testid="search-form">
      <div class="search-fields">
        {fields.map((field) => {
          const inputId = `${id}-${field.name}`;
          const common = {
            id: inputId,
            name: field.name,
            value: values[field.name] ?? '',
            'aria-invalid': errors && errors[field.name] ? 'true' : undefined,
          };
          return (
            <div class="search-field" key={field.name} data-testid={`search-${field.name}`}>
              <label for={inputId}>{t(field.label)}</label>
              {field.type === 'select' ? (
                <select
                  {...common}
                  onChange={(event) => onChange(field.name, event.currentTarget.value)}
                >
                  {field.options.map((option) => (
                    <option key={option.value} value={option.value}>
                      {option.label}
                    </option>
                  ))}
                </select>
              ) : (
                <input
                  {...common}
                  type={field.type === 'date' ? 'date' : 'text'}
                  autoComplete="off"
                  placeholder={field.placeholder}
                  list={field.suggestions ? `${inputId}-list` : undefined}
                  onInput={(event) => onChange(field.name, event.currentTarget.value)}
                />
              )}
              {field.suggestions && (
                <datalist id={`${inputId}-list`}>
                  {field.suggestions.map((item) => (
                    <option key={item.value} value={item.value}>
                      {item.label}
                    </option>
                  ))}
                </datalist>
              )}
              <FieldError name={field.name} message={errors && errors[field.name]} />
            </div>
          );
        })}
        <div class="search-field buttons-field">
          <button type="submit" class="primary" disabled={busy} data-testid="search">
            {t('search.submit')}
          </button>
          {onReset && (
            <button type="button" onClick={onReset} disabled={busy}>
              {t('search.reset')}
            </button>
          )}
        </div>
      </div>
    </form>
  );
}

/**
 * Page links under a result table. `total` when the API counts the matches; otherwise
 * `more` says whether a next page exists.
 */
export function Pager({ offset, limit, count, total, more, onPage, busy }) {
  if (count === 0 && offset === 0) return null;
  const last = offset + count;
  const hasNext = total !== undefined && total !== null ? last < total : Boolean(more);
  return (
    <div class="pager" data-testid="pager">
      <span class="muted">
        {total !== undefined && total !== null
          ? t('search.range_of', { first: offset + 1, last, total })
          : t('search.range', { first: offset + 1, last })}
      </span>
      <button
        type="button"
        class="small"
        disabled={busy || offset === 0}
        data-testid="page-previous"
        onClick={() => onPage(Math.max(0, offset - limit))}
      >
        {t('search.previous')}
      </button>
      <button
        type="button"
        class="small"
        disabled={busy || !hasNext}
        data-testid="page-next"
        onClick={() => onPage(offset + limit)}
      >
        {t('search.next')}
      </button>
    </div>
  );
}

/** A link the browser downloads (the session cookie authenticates it); a button when off. */
export function DownloadLink({ href, label, testId, disabled, title }) {
  if (disabled) {
    return (
      <button type="button" disabled title={title} data-testid={testId}>
        {label}
      </button>
    );
  }
  return (
    <a class="button" href={href} download data-testid={testId} title={title}>
      {label}
    </a>
  );
}

/** "Export CSV" of a search: `path` with the query and format=csv. */
export function ExportCsv({ path, query, title, disabled }) {
  return (
    <DownloadLink
      href={`${path}${queryString({ ...query, format: 'csv' })}`}
      label={t('search.export_csv')}
      testId="export-csv"
      title={title}
      disabled={disabled}
    />
  );
}
