// Agents (坐席监控): every agent's state, queues and pause reason, refreshed every few seconds;
// log in / out and pause from the table; a chart of how many are in each state.
import { useCallback, useState } from 'preact/hooks';
import { api } from '../api.js';
import { AgentActions, reasonLabel } from '../components/AgentActions.jsx';
import { errorMessage } from '../components/errors.js';
import { Alert, EmptyRow, PageHead } from '../components/Page.jsx';
import { StateChart } from '../components/StateChart.jsx';
import { formatDateTime, formatDuration, secondsSince } from '../format.js';
import { useRefresh } from '../hooks.js';
import { t } from '../i18n/index.js';

export const REFRESH_MS = 3000;
const AGENT_STATES = ['idle', 'ringing', 'on_call', 'wrapup', 'paused', 'logged_out'];

export function StateBadge({ state }) {
  return <span class={`badge state-${state}`}>{t(`agent_state.${state}`)}</span>;
}

function queuesText(agent) {
  return (
    agent.queues
      .map((entry) => (entry.static ? `${entry.queue} (${t('agents.static')})` : entry.queue))
      .join(', ') || '—'
  );
}

export function Agents() {
  const [agents, setAgents] = useState(null);
  const [error, setError] = useState(null);
  const [actionError, setActionError] = useState(null);
  const [busy, setBusy] = useState(null);
  const [updated, setUpdated] = useState(null);

  const load = useCallback(async () => {
    try {
      const data = await api('GET', '/api/v1/agents');
      setAgents(data.items);
      setError(null);
      setUpdated(new Date());
    } catch (err) {
      setError(errorMessage(err));
      setAgents((old) => old || []);
    }
  }, []);

  useRefresh(load, REFRESH_MS);

  const counts = AGENT_STATES.map((state) => ({
    state,
    label: t(`agent_state.${state}`),
    count: (agents || []).filter((agent) => agent.state === state).length,
  })).filter((entry) => entry.count > 0);

  return (
    <section class="page" data-page="agents">
      <PageHead title={t('agents.title')}>
        <span class="muted">
          {updated ? t('agents.updated', { time: formatDateTime(updated) }) : ''}
        </span>
        <button type="button" onClick={load}>
          {t('action.refresh')}
        </button>
      </PageHead>
      <Alert testId="load-error">{error}</Alert>
      <Alert>{actionError}</Alert>
      <div class="split">
        <table class="grid">
          <thead>
            <tr>
              <th>{t('agents.extension')}</th>
              <th>{t('agents.name')}</th>
              <th>{t('agents.state')}</th>
              <th>{t('agents.since')}</th>
              <th>{t('agents.queues')}</th>
              <th>{t('agents.call_queue')}</th>
              <th>{t('agents.pause_reason')}</th>
              <th class="actions">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            <EmptyRow columns={8} rows={agents} emptyText={t('agents.none')} />
            {(agents || []).map((agent) => {
              const elapsed = secondsSince(agent.state_since);
              return (
                <tr key={agent.extension} data-id={agent.extension}>
                  <td>{agent.extension}</td>
                  <td>{agent.name || '—'}</td>
                  <td>
                    <StateBadge state={agent.state} />
                  </td>
                  <td title={formatDateTime(agent.state_since)}>
                    {elapsed === null ? '—' : formatDuration(elapsed)}
                  </td>
                  <td>{queuesText(agent)}</td>
                  <td>{agent.call_queue || '—'}</td>
                  <td>{reasonLabel(agent.pause_reason)}</td>
                  <td class="actions">
                    <AgentActions
                      agent={agent}
                      busy={busy}
                      setBusy={setBusy}
                      onDone={(next) => {
                        setActionError(null);
                        setAgents((old) =>
                          (old || []).map((a) => (a.extension === next.extension ? next : a)),
                        );
                      }}
                      onError={(err, who) =>
                        setActionError(`${who.extension}: ${errorMessage(err)}`)
                      }
                    />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <aside class="panel">
          <h2>{t('agents.chart_title')}</h2>
          {counts.length > 0 ? (
            <StateChart counts={counts} label={t('agents.chart_title')} />
          ) : (
            <p class="muted">{t('agents.none')}</p>
          )}
        </aside>
      </div>
    </section>
  );
}
