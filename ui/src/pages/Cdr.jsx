// Call records (通话记录): search by date and number, pages, a row opens to its legs and its
// call-center details (queue, wait, agent, survey, recording), CSV export of the search.
import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { errorMessage } from '../components/errors.js';
import { Alert, EmptyRow, PageHead } from '../components/Page.jsx';
import { recordingAudioUrl } from '../components/Player.jsx';
import {
  browserTimeZone,
  daysAgo,
  ExportCsv,
  localDate,
  Pager,
  queryString,
  SearchForm,
  useSearch,
} from '../components/Search.jsx';
import { formatDateTime, formatDuration } from '../format.js';
import { t } from '../i18n/index.js';
import { dispositionText } from './options.js';

const PAGE_SIZE = 50;

// The API filters by time and number only (pbxd/web/cdr.py).
const FIELDS = [
  { name: 'from', label: 'search.from', type: 'date' },
  { name: 'to', label: 'search.to', type: 'date', lastDay: true },
  { name: 'number', label: 'cdr.number', type: 'text', placeholder: '1001' },
];

function defaults() {
  return { from: daysAgo(6), to: localDate(), number: '' };
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
  if (error) return <Alert>{error}</Alert>;
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
                  src={recordingAudioUrl(detail.recording)}
                />
                <a class="button small" href={recordingAudioUrl(detail.recording)} download>
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
          <EmptyRow columns={9} rows={data.items} emptyText={t('cdr.no_legs')} />
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
  const [open, setOpen] = useState(() => new Set());
  const search = useSearch({
    fields: FIELDS,
    initial: defaults,
    pageSize: PAGE_SIZE,
    empty: { items: [], more: false },
    fetchPage: async (query, offset) => {
      // one more than a page: the API gives no total, the extra row says a next page exists
      const data = await api(
        'GET',
        `/api/v1/cdr${queryString({ ...query, limit: PAGE_SIZE + 1, offset })}`,
      );
      setOpen(new Set()); // the rows of another page or search start closed
      return { items: data.items.slice(0, PAGE_SIZE), more: data.items.length > PAGE_SIZE };
    },
  });
  const { result } = search;

  const toggle = (callId) =>
    setOpen((old) => {
      const next = new Set(old);
      if (next.has(callId)) next.delete(callId);
      else next.add(callId);
      return next;
    });

  const items = result ? result.items : [];
  const columns = 8;
  return (
    <section class="page" data-page="cdr">
      <PageHead title={t('cdr.title')}>
        <ExportCsv
          path="/api/v1/cdr"
          query={{ ...search.applied, timezone: browserTimeZone() }}
          title={t('cdr.export_hint')}
        />
      </PageHead>
      <SearchForm id="cdr" {...search.form} />
      <Alert testId="load-error">{search.error}</Alert>
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
          <EmptyRow columns={columns} rows={result && items} emptyText={t('cdr.none')} />
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
      <Pager {...search.pager} />
    </section>
  );
}
