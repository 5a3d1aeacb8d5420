// Operation log (操作日志, admins): who logged in and who changed what, newest first; search by
// date, user and action; pages; CSV export. Actions are the API's: login, login_failed,
// logout, or "METHOD /api/v1/path/{template}" for a change.
import { useEffect, useState } from 'preact/hooks';
import { Alert, EmptyRow, PageHead } from '../components/Page.jsx';
import {
  daysAgo,
  ExportCsv,
  localDate,
  Pager,
  SearchForm,
  useSearch,
} from '../components/Search.jsx';
import { formatDateTime } from '../format.js';
import { has, t } from '../i18n/index.js';
import { OPLOG_ACTIONS } from './options.js';

const PAGE_SIZE = 50;

/** The search fields; the action field suggests `actions` ([{value, label}]). */
function searchFields(actions) {
  return [
    { name: 'start', label: 'search.from', type: 'date' },
    { name: 'end', label: 'search.to', type: 'date', lastDay: true },
    { name: 'username', label: 'oplog.username', type: 'text' },
    { name: 'action', label: 'oplog.action', type: 'text', suggestions: actions },
  ];
}

function defaults() {
  return { start: daysAgo(6), end: localDate(), username: '', action: '' };
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
  const [seenActions, setSeenActions] = useState(() => new Set(OPLOG_ACTIONS));
  // the action field suggests every action met so far, in words where it has some
  const actions = [...seenActions].sort().map((action) => ({
    value: action,
    label: actionText(action) === action ? '' : actionText(action),
  }));
  const search = useSearch({
    fields: searchFields(actions),
    initial: defaults,
    path: '/api/v1/operation-log',
    pageSize: PAGE_SIZE,
    empty: { items: [], total: 0 },
  });
  const { result } = search;
  useEffect(() => {
    if (!result) return;
    setSeenActions((old) => new Set([...old, ...result.items.map((item) => item.action)]));
  }, [result]);

  const items = result ? result.items : [];
  const columns = 7;
  return (
    <section class="page" data-page="operation-log">
      <PageHead title={t('oplog.title')}>
        <ExportCsv
          path="/api/v1/operation-log"
          query={search.applied}
          title={t('oplog.export_hint')}
        />
      </PageHead>
      <SearchForm id="oplog" {...search.form} />
      <Alert testId="load-error">{search.error}</Alert>
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
          <EmptyRow columns={columns} rows={result && items} emptyText={t('oplog.none')} />
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
      <Pager {...search.pager} />
    </section>
  );
}
