// Call records (通话记录): search by date and number, pages, a row opens to its legs and its
// call-center details (queue, wait, agent, survey, recording), CSV export of the search.
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { errorMessage, splitError } from '../components/errors.js';
import {
  browserTimeZone,
  dayStart,
  daysAgo,
  DownloadLink,
  localDate,
  Pager,
  queryString,
  SearchForm,
} from '../components/Search.jsx';
import { formatDateTime, formatDuration } from '../format.js';
import { t } from '../i18n/index.js';
import { dispositionText } from './options.js';

export const PAGE_SIZE = 50;

// The API filters by time and number only (pbxd/web/cdr.py).
const FIELDS = [
  { name: 'from', label: 'search.from', type: 'date' },
  { name: 'to', label: 'search.to', type: 'date' },
  { name: 'number', label: 'cdr.number', type: 'text', placeholder: '1001' },
];
const FIELD_NAMES = FIELDS.map((field) => field.name);

function defaults() {
  return { from: daysAgo(6), to: localDate(), number: '' };
}

function searchQuery(values) {
  return { from: dayStart(values.from), to: dayStart(values.to, 1), number: values.number };
}

function Disposition({ value }) {
  const kind = value === 'ANSWERED' ? 'ok' : value === 'ABANDONED' ? 'warn' : 'bad';
  return <span class={`badge disposition-${kind}`}>{dispositionText(value)}</span>;
}

function orDash(value) {
  return value === null || value === undefined || value === '' ? '—' : value;
}

/** The legs and call-center details of one call, loaded when its row opens. */
function CallDetails({ callId }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api('GET', `/api/v1/cdr/${seg(callId)}/legs`)
      .then(setData)
      .catch((err) => setError(errorMessage(err)));
  }, [callId]);
  if (error) {
    return (
      <div class="alert error" role="alert">
        {error}
      </div>
    );
  }
  if (!data) return <p class="muted">{t('common.loading')}</p>;
  return (
    <div class="call-details" data-testid="call-details">
      {data.details.map((detail) => (
        <dl class="facts" key={detail.cdr_id} data-testid="call-center">
          <dt>{t('cdr.queue')}</dt>
          <dd data-field="queue">{orDash(detail.queue)}</dd>
          <dt>{t('cdr.wait')}</dt>
          <dd data-field="wait">{detail.wait === null ? '—' : formatDuration(detail.wait)}</dd>
          <dt>{t('cdr.agent')}</dt>
          <dd data-field="agent">{orDash(detail.agent)}</dd>
          <dt>{t('cdr.survey')}</dt>
          <dd data-field="survey">
            {detail.survey ? t(`survey.${detail.survey}`) : '—'}
            {detail.survey_reason ? ` (${t(`survey_reason.${detail.survey_reason}`)})` : ''}
          </dd>
          <dt>{t('cdr.recording')}</dt>
          <dd data-field="recording">
            {detail.recording ? (
              <span class="buttons">
                <audio
                  controls
                  preload="none"
                  data-recording={detail.recording}
                  src={`/api/v1/recordings/${seg(detail.recording)}/audio`}
                />
                <a
                  class="button small"
                  href={`/api/v1/recordings/${seg(detail.recording)}/audio`}
                  download
                >
                  {t('recordings.download')}
                </a>
              </span>
            ) : (
              '—'
            )}
          </dd>
        </dl>
      ))}
      <table class="grid compact" data-testid="legs">
        <thead>
          <tr>
            <th>{t('cdr.leg')}</th>
            <th>{t('cdr.direction')}</th>
            <th>{t('cdr.party')}</th>
            <th>{t('cdr.peer')}</th>
            <th>{t('cdr.start')}</th>
            <th>{t('cdr.answer')}</th>
            <th>{t('cdr.end')}</th>
            <th>{t('cdr.disposition')}</th>
            <th>{t('cdr.hangup_side')}</th>
          </tr>
        </thead>
        <tbody>
          {data.items.length === 0 && (
            <tr>
              <td colSpan={9} class="empty">
                {t('cdr.no_legs')}
              </td>
            </tr>
          )}
          {data.items.map((leg) => (
            <tr key={leg.id} data-party={leg.party}>
              <td class="mono">{leg.leg}</td>
              <td>{t(`direction.${leg.direction}`)}</td>
              <td>{leg.party}</td>
              <td>
                {t(`peer_kind.${leg.peer_kind}`)} {leg.peer}
              </td>
              <td class="nowrap">{formatDateTime(leg.start)}</td>
              <td class="nowrap">{leg.answer ? formatDateTime(leg.answer) : '—'}</td>
              <td class="nowrap">{formatDateTime(leg.end)}</td>
              <td>
                <Disposition value={leg.disposition} />
              </td>
              <td>{t(`hangup_side.${leg.hangup_side}`)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Cdr() {
  const [values, setValues] = useState(defaults);
  const [applied, setApplied] = useState(() => searchQuery(defaults()));
  const [offset, setOffset] = useState(0);
  const [result, setResult] = useState(null); // {items, more}
  const [error, setError] = useState(null);
  const [fieldErrors, setFieldErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState(() => new Set());

  const load = async (query, at) => {
    setBusy(true);
    try {
      // one more than a page: the API gives no total, the extra row says a next page exists
      const data = await api(
        'GET',
        `/api/v1/cdr${queryString({ ...query, limit: PAGE_SIZE + 1, offset: at })}`,
      );
      setResult({ items: data.items.slice(0, PAGE_SIZE), more: data.items.length > PAGE_SIZE });
      setApplied(query);
      setOffset(at);
      setOpen(new Set());
      setError(null);
      setFieldErrors({});
    } catch (err) {
      const split = splitError(err, FIELD_NAMES);
      setFieldErrors(split.fields);
      setError(split.form);
      setResult((old) => old || { items: [], more: false });
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    load(applied, 0);
  }, []);

  const toggle = (callId) =>
    setOpen((old) => {
      const next = new Set(old);
      if (next.has(callId)) next.delete(callId);
      else next.add(callId);
      return next;
    });

  const items = result ? result.items : [];
  const csv = `/api/v1/cdr${queryString({ ...applied, format: 'csv', timezone: browserTimeZone() })}`;
  const columns = 8;
  return (
    <section class="page" data-page="cdr">
      <header class="page-head">
        <h1>{t('cdr.title')}</h1>
        <div class="toolbar">
          <DownloadLink
            href={csv}
            label={t('search.export_csv')}
            testId="export-csv"
            title={t('cdr.export_hint')}
          />
        </div>
      </header>
      <SearchForm
        id="cdr"
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
      />
      {error && (
        <div class="alert error" role="alert" data-testid="load-error">
          {error}
        </div>
      )}
      <table class="grid">
        <thead>
          <tr>
            <th class="check" />
            <th>{t('cdr.start')}</th>
            <th>{t('cdr.caller')}</th>
            <th>{t('cdr.callee')}</th>
            <th>{t('cdr.disposition')}</th>
            <th class="num">{t('cdr.duration')}</th>
            <th class="num">{t('cdr.billsec')}</th>
            <th>{t('cdr.hangup_side')}</th>
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
                {t('cdr.none')}
              </td>
            </tr>
          )}
          {items.map((row) => {
            const expanded = open.has(row.call_id);
            return (
              <Fragment key={row.id}>
                <tr data-id={row.id} data-call-id={row.call_id} class={expanded ? 'current' : undefined}>
                  <td class="check">
                    <button
                      type="button"
                      class="icon expander"
                      aria-expanded={expanded ? 'true' : 'false'}
                      aria-label={t(expanded ? 'cdr.collapse' : 'cdr.expand')}
                      data-testid="expand"
                      onClick={() => toggle(row.call_id)}
                    >
                      {expanded ? '▾' : '▸'}
                    </button>
                  </td>
                  <td class="nowrap">{formatDateTime(row.start)}</td>
                  <td class="nowrap">{row.caller}</td>
                  <td class="nowrap">{row.callee}</td>
                  <td>
                    <Disposition value={row.disposition} />
                  </td>
                  <td class="num">{formatDuration(row.duration)}</td>
                  <td class="num">{formatDuration(row.billsec)}</td>
                  <td>{t(`hangup_side.${row.hangup_side}`)}</td>
                </tr>
                {expanded && (
                  <tr class="details-row">
                    <td />
                    <td colSpan={columns - 1}>
                      <CallDetails callId={row.call_id} />
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
      <Pager
        offset={offset}
        limit={PAGE_SIZE}
        count={items.length}
        more={result ? result.more : false}
        busy={busy}
        onPage={(at) => load(applied, at)}
      />
    </section>
  );
}
