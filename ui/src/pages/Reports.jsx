// Reports (统计报表): call figures by day, week or month, in total, by queue or by agent, in the
// browser's time zone. The table shows the API's columns under the API's own labels (it names
// them in Chinese and English); the chart: answered / abandoned / other missed calls and the
// answer rate. CSV export of the same report with headers in the console's language.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Alert, EmptyRow, PageHead } from '../components/Page.jsx';
import { ReportChart } from '../components/ReportChart.jsx';
import {
  browserTimeZone,
  ExportCsv,
  firstOfMonth,
  localDate,
  queryString,
  SearchForm,
  useSearch,
} from '../components/Search.jsx';
import { useSuggestions } from '../hooks.js';
import { language, t } from '../i18n/index.js';
import { REPORT_GROUPS, REPORT_PERIODS } from './options.js';

// The columns shown until "all columns" is ticked (the API has about thirty).
const MAIN_COLUMNS = new Set([
  'bucket',
  'key',
  'name',
  'calls',
  'inbound',
  'outbound',
  'internal',
  'answered',
  'missed',
  'answer_rate',
  'queue_calls',
  'abandoned',
  'abandon_rate',
  'avg_wait',
  'talk_time',
  'avg_talk_time',
  'voicemail',
  'satisfaction_rate',
]);

function defaults(user) {
  return {
    period: 'day',
    group: user.role === 'agent' ? 'agent' : 'total',
    start: firstOfMonth(),
    end: localDate(),
    queue: '',
    agent: user.role === 'agent' && user.extension ? user.extension : '',
  };
}

function reportQuery(values) {
  return {
    period: values.period,
    group: values.group,
    start: values.start,
    end: values.end,
    timezone: browserTimeZone(),
    queue: values.queue,
    agent: values.agent,
  };
}

/** A cell of a metric column: counts as they are, rates in per cent, seconds with a unit. */
function formatMetric(value, type) {
  if (value === null || value === undefined) return '—';
  if (type === 'rate') return `${(value * 100).toFixed(1)}%`;
  if (type === 'seconds') return (Math.round(value * 10) / 10).toLocaleString(language());
  if (type === 'count') return Number(value).toLocaleString(language());
  return String(value);
}

function columnLabel(column) {
  return language() === 'en' ? column.label.en : column.label.zh;
}

function periodText(row) {
  return row.from === row.to ? row.from : `${row.from} ~ ${row.to}`;
}

/** The chart's points: one per bucket in total; one per queue or agent otherwise. */
function chartPoints(report) {
  const points = new Map();
  for (const row of report.rows) {
    const id = report.group === 'total' ? row.bucket : row.key;
    const label =
      report.group === 'total' ? periodText(row) : row.name ? `${row.key} ${row.name}` : row.key;
    const point = points.get(id) || { label, calls: 0, answered: 0, missed: 0, abandoned: 0 };
    point.calls += row.calls;
    point.answered += row.answered;
    point.missed += row.missed;
    point.abandoned += row.abandoned;
    points.set(id, point);
  }
  return [...points.values()];
}

/** Suggestions for the queue / agent filters; none for a role that may not list them. */
function useNumbers(path) {
  return useSuggestions(path).map((item) => ({
    value: item.number || item.extension,
    label: item.name || '',
  }));
}

export function Reports({ user, lang }) {
  const [allColumns, setAllColumns] = useState(false);
  const staff = user.role !== 'agent';
  const queues = useNumbers(staff ? '/api/v1/queues' : null);
  const agents = useNumbers(staff ? '/api/v1/agents' : null);

  const fields = [
    {
      name: 'period',
      label: 'reports.period',
      type: 'select',
      options: REPORT_PERIODS.map((value) => ({ value, label: t(`report_period.${value}`) })),
    },
    {
      name: 'group',
      label: 'reports.group',
      type: 'select',
      options: REPORT_GROUPS.map((value) => ({ value, label: t(`report_group.${value}`) })),
    },
    { name: 'start', label: 'reports.start', type: 'date' },
    { name: 'end', label: 'reports.end', type: 'date' },
    {
      name: 'queue',
      label: 'reports.queues',
      type: 'text',
      placeholder: t('reports.numbers_placeholder'),
      suggestions: queues,
    },
    {
      name: 'agent',
      label: 'reports.agents',
      type: 'text',
      placeholder: t('reports.numbers_placeholder'),
      suggestions: agents,
    },
  ];
  // the timezone is not a field: an error about it goes on top
  const search = useSearch({
    fields,
    initial: () => defaults(user),
    toQuery: reportQuery,
    fetchPage: (query) => api('GET', `/api/v1/reports${queryString(query)}`),
  });
  const report = search.result;

  const shown = report
    ? report.columns.filter(
        (column) =>
          column.name !== 'from' &&
          column.name !== 'to' &&
          !(report.group === 'total' && (column.name === 'key' || column.name === 'name')) &&
          (allColumns || MAIN_COLUMNS.has(column.name)),
      )
    : [];
  const cell = (column, row) => {
    if (column.name === 'bucket') return periodText(row);
    if (column.name === 'key' || column.name === 'name') return row[column.name] || '—';
    return formatMetric(row[column.name], column.type);
  };
  const numeric = (column) => ['count', 'seconds', 'rate'].includes(column.type);

  return (
    <section class="page" data-page="reports">
      <PageHead title={t('reports.title')}>
        <span class="muted" data-testid="report-timezone">
          {report ? t('reports.timezone', { zone: report.timezone }) : ''}
        </span>
        {/* the CSV of the report shown, with its headers in the console's language */}
        <ExportCsv
          path="/api/v1/reports"
          query={{ ...search.applied, lang: lang === 'en' ? 'en' : 'zh' }}
          disabled={!report}
        />
      </PageHead>
      <SearchForm id="report" {...search.form} />
      <Alert testId="load-error">{search.error}</Alert>
      {report && report.rows.length > 0 && (
        <div class="panel">
          <h2>
            {report.group === 'total'
              ? t('reports.chart_by_period')
              : t('reports.chart_by_key', { group: t(`report_group.${report.group}`) })}
          </h2>
          <ReportChart points={chartPoints(report)} label={t('reports.title')} lang={lang} />
        </div>
      )}
      <div class="result-bar">
        <span class="muted" data-testid="report-range">
          {report ? t('reports.range', { start: report.start, end: report.end }) : ''}
          {/* the filters the server applied: a supervisor's are his team's */}
          {report && report.queues ? ` · ${t('reports.only_queues', { list: report.queues.join(', ') || '—' })}` : ''}
          {report && report.agents ? ` · ${t('reports.only_agents', { list: report.agents.join(', ') || '—' })}` : ''}
        </span>
        <span class="spacer" />
        <label class="check-label">
          <input
            type="checkbox"
            checked={allColumns}
            data-testid="all-columns"
            onChange={(event) => setAllColumns(event.currentTarget.checked)}
          />
          {t('reports.all_columns')}
        </label>
      </div>
      <div class="table-scroll">
        <table class="grid report-table" data-testid="report-table">
          <thead>
            <tr>
              {shown.map((column) => (
                <th key={column.name} class={numeric(column) ? 'num' : undefined} data-col={column.name}>
                  {columnLabel(column)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            <EmptyRow
              columns={shown.length}
              rows={report && report.rows}
              loading={!report && search.busy}
              emptyText={t('reports.none')}
            />
            {(report ? report.rows : []).map((row) => (
              <tr key={`${row.bucket}:${row.key}`} data-bucket={row.bucket} data-key={row.key ?? ''}>
                {shown.map((column) => (
                  <td
                    key={column.name}
                    class={numeric(column) ? 'num' : 'nowrap'}
                    data-col={column.name}
                  >
                    {cell(column, row)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
          {report && report.rows.length > 0 && (
            <tfoot>
              <tr data-testid="report-totals">
                {shown.map((column, index) => (
                  <td
                    key={column.name}
                    class={numeric(column) ? 'num' : undefined}
                    data-col={column.name}
                  >
                    {numeric(column)
                      ? formatMetric(report.totals[column.name], column.type)
                      : index === 0
                        ? t('reports.total')
                        : ''}
                  </td>
                ))}
              </tr>
            </tfoot>
          )}
        </table>
      </div>
    </section>
  );
}
