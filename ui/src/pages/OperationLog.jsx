// Operation log (操作日志, admins): who logged in and who changed what, newest first; search by
// date, user and action; pages; CSV export. Actions are the API's: login, login_failed,
// logout, or "METHOD /api/v1/path/{template}" for a change.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { splitError } from '../components/errors.js';
import {
  dayStart,
  daysAgo,
  DownloadLink,
  localDate,
  Pager,
  queryString,
  SearchForm,
} from '../components/Search.jsx';
import { formatDateTime } from '../format.js';
import { has, t } from '../i18n/index.js';
import { OPLOG_ACTIONS } from './options.js';

export const PAGE_SIZE = 50;

const FIELDS = [
  { name: 'start', label: 'search.from', type: 'date' },
  { name: 'end', label: 'search.to', type: 'date' },
  { name: 'username', label: 'oplog.username', type: 'text' },
  { name: 'action', label: 'oplog.action', type: 'text', list: 'oplog-actions' },
];
const FIELD_NAMES = FIELDS.map((field) => field.name);

function defaults() {
  return { start: daysAgo(6), end: localDate(), username: '', action: '' };
}

function searchQuery(values) {
  return {
    start: dayStart(values.start),
    end: dayStart(values.end, 1),
    username: values.username,
    action: values.action,
  };
}

/** login / logout / login_failed in words; a change as the API names it. */
function actionText(action) {
  const key = `oplog_action.${action}`;
  return OPLOG_ACTIONS.includes(action) && has(key) ? t(key) : action;
}

function detailText(detail) {
  if (!detail || typeof detail !== 'object') return '';
  const parts = [];
  if (Array.isArray(detail.fields) && detail.fields.length > 0) {
    parts.push(t('oplog.fields', { fields: detail.fields.join(', ') }));
  }
  if (detail.via) parts.push(t('oplog.via', { via: t(`oplog_via.${detail.via}`) }));
  if (detail.status) parts.push(t('oplog.status', { status: detail.status }));
  for (const [name, value] of Object.entries(detail)) {
    if (!['fields', 'via', 'status'].includes(name)) parts.push(`${name}: ${JSON.stringify(value)}`);
  }
  return parts.join('; ');
}

export function OperationLog() {
  const [values, setValues] = useState(defaults);
  const [applied, setApplied] = useState(() => searchQuery(defaults()));
  const [offset, setOffset] = useState(0);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [fieldErrors, setFieldErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const [seenActions, setSeenActions] = useState(() => new Set(OPLOG_ACTIONS));

  const load = async (query, at) => {
    setBusy(true);
    try {
      const data = await api(
        'GET',
        `/api/v1/operation-log${queryString({ ...query, limit: PAGE_SIZE, offset: at })}`,
      );
      setResult(data);
      setApplied(query);
      setOffset(at);
      setError(null);
      setFieldErrors({});
      setSeenActions((old) => new Set([...old, ...data.items.map((item) => item.action)]));
    } catch (err) {
      const split = splitError(err, FIELD_NAMES);
      setFieldErrors(split.fields);
      setError(split.form);
      setResult((old) => old || { items: [], total: 0 });
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    load(applied, 0);
  }, []);

  const items = result ? result.items : [];
  const csv = `/api/v1/operation-log${queryString({ ...applied, format: 'csv' })}`;
  const columns = 7;
  return (
    <section class="page" data-page="operation-log">
      <header class="page-head">
        <h1>{t('oplog.title')}</h1>
        <div class="toolbar">
          <DownloadLink
            href={csv}
            label={t('search.export_csv')}
            testId="export-csv"
            title={t('oplog.export_hint')}
          />
        </div>
      </header>
      <SearchForm
        id="oplog"
        fields={FIELDS}
        values={values}
        errors={fieldErrors}
        busy={busy}
        onChange={(name, value) => setValues((old) => ({ ...old, [name]: value }))}
        onSubmit={() => load(searchQuery(values), 0)}
        onReset={() => {
          const fresh = defaults();
          setValues(fresh);
          load(searchQuery(fresh), 0);
        }}
      >
        <datalist id="oplog-actions">
          {[...seenActions].sort().map((action) => (
            <option key={action} value={action}>
              {actionText(action) === action ? '' : actionText(action)}
            </option>
          ))}
        </datalist>
      </SearchForm>
      {error && (
        <div class="alert error" role="alert" data-testid="load-error">
          {error}
        </div>
      )}
      <table class="grid">
        <thead>
          <tr>
            <th>{t('oplog.time')}</th>
            <th>{t('oplog.username')}</th>
            <th>{t('oplog.role')}</th>
            <th>{t('oplog.client_ip')}</th>
            <th>{t('oplog.action')}</th>
            <th>{t('oplog.target')}</th>
            <th>{t('oplog.detail')}</th>
          </tr>
        </thead>
        <tbody>
          {result === null && (
            <tr>
              <td colSpan={columns} class="empty">
                {t('common.loading')}
              </td>
            </tr>
          )}
          {result !== null && items.length === 0 && (
            <tr>
              <td colSpan={columns} class="empty">
                {t('oplog.none')}
              </td>
            </tr>
          )}
          {items.map((entry) => (
            <tr key={entry.id} data-id={entry.id} data-action={entry.action}>
              <td class="nowrap">{formatDateTime(entry.time)}</td>
              <td data-col="username">{entry.username}</td>
              <td>{entry.role ? t(`role.${entry.role}`) : '—'}</td>
              <td class="mono">{entry.client_ip}</td>
              <td data-col="action" class={actionText(entry.action) === entry.action ? 'mono' : undefined}>
                {actionText(entry.action)}
              </td>
              <td class="mono" data-col="target">
                {entry.target}
              </td>
              <td data-col="detail">{detailText(entry.detail)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager
        offset={offset}
        limit={PAGE_SIZE}
        count={items.length}
        total={result ? result.total : 0}
        busy={busy}
        onPage={(at) => load(applied, at)}
      />
    </section>
  );
}
