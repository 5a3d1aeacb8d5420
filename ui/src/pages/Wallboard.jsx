// Wallboard (实时大屏): every queue as big-number tiles (waiting, longest wait, answered,
// abandoned, service level, agents) and the agents with their state and a ticking time in
// state. pbxd pushes each change over the live channel (ui/src/live.js): no polling. A
// supervisor gets his queues and their agents only (the server cuts the board).
import { useEffect, useState } from 'preact/hooks';
import { Alert, EmptyRow, PageHead } from '../components/Page.jsx';
import { formatDuration, secondsSince } from '../format.js';
import { t } from '../i18n/index.js';
import { useLive } from '../live.js';
import { StateBadge } from './Agents.jsx';

const TOPICS = ['wallboard'];

/** The current time, again every `ms` (the waits and times in state tick). */
function useNow(ms = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

function statusText(status) {
  if (status === 'open') return t('wallboard.live');
  if (status === 'connecting') return t('wallboard.connecting');
  if (status === 'refused') return t('wallboard.refused');
  return t('wallboard.disconnected');
}

function percent(share) {
  return share === null || share === undefined ? '—' : `${Math.round(share * 100)}%`;
}

function Figure({ name, label, value, warn }) {
  return (
    <div class={`figure${warn ? ' warn' : ''}`} data-figure={name}>
      <div class="value">{value}</div>
      <div class="label">{label}</div>
    </div>
  );
}

function QueueTile({ queue, now }) {
  const longest = queue.waiting ? secondsSince(queue.oldest_joined_at, now) : null;
  return (
    <section class="queue-tile" data-queue={queue.number}>
      <h2>
        {queue.name || queue.number} <span class="muted">{queue.number}</span>
      </h2>
      <div class="figures">
        <Figure
          name="waiting"
          label={t('wallboard.waiting')}
          value={queue.waiting}
          warn={queue.waiting > 0 && queue.agents_idle === 0}
        />
        <Figure
          name="longest_wait"
          label={t('wallboard.longest_wait')}
          value={longest === null ? '0:00' : formatDuration(longest)}
          warn={longest !== null && longest > queue.service_level_seconds}
        />
        <Figure
          name="service_level"
          label={t('wallboard.service_level', { seconds: queue.service_level_seconds })}
          value={percent(queue.service_level)}
        />
        <Figure name="answered" label={t('wallboard.answered')} value={queue.answered} />
        <Figure name="abandoned" label={t('wallboard.abandoned')} value={queue.abandoned} />
        <Figure
          name="agents"
          label={t('wallboard.agents_idle')}
          value={`${queue.agents_idle} / ${queue.agents_logged_in}`}
        />
      </div>
    </section>
  );
}

export function Wallboard() {
  const [board, setBoard] = useState(null);
  const live = useLive(
    (message) => {
      if (message.type === 'wallboard') setBoard(message);
    },
    { topics: TOPICS },
  );
  // pbxd's clock: the waits and times in state are counted from its times
  const now = useNow() - live.clockOffset;
  const stale = live.status !== 'open';

  return (
    <section class={`page wallboard${stale ? ' stale' : ''}`} data-page="wallboard">
      <PageHead title={t('wallboard.title')}>
        <span
          class={`live-status ${live.status}`}
          data-testid="live-status"
          data-status={live.status}
          title={live.reason || undefined}
        >
          {statusText(live.status)}
        </span>
      </PageHead>
      <Alert testId="load-error">
        {live.status === 'refused'
          ? t('wallboard.refused')
          : live.status === 'disconnected'
            ? t('wallboard.reconnecting')
            : null}
      </Alert>
      <div class="wallboard-tiles">
        {board && board.queues.length === 0 && <p class="muted">{t('wallboard.no_queues')}</p>}
        {board &&
          board.queues.map((queue) => <QueueTile key={queue.number} queue={queue} now={now} />)}
      </div>
      <table class="grid wallboard-agents">
        <thead>
          <tr>
            <th>{t('agents.extension')}</th>
            <th>{t('agents.name')}</th>
            <th>{t('agents.state')}</th>
            <th>{t('agents.since')}</th>
            <th>{t('agents.call_queue')}</th>
            <th>{t('agents.queues')}</th>
            <th>{t('agents.pause_reason')}</th>
          </tr>
        </thead>
        <tbody>
          <EmptyRow columns={7} rows={board && board.agents} emptyText={t('agents.none')} />
          {board &&
            board.agents.map((agent) => {
              const elapsed = secondsSince(agent.since, now);
              return (
                <tr key={agent.extension} data-id={agent.extension}>
                  <td>{agent.extension}</td>
                  <td>{agent.name || '—'}</td>
                  <td>
                    <StateBadge state={agent.state} />
                  </td>
                  <td class="num" data-testid="time-in-state">
                    {elapsed === null ? '—' : formatDuration(elapsed)}
                  </td>
                  <td>{agent.queue || '—'}</td>
                  <td>{agent.queues.join(', ') || '—'}</td>
                  <td>{agent.pause_reason || '—'}</td>
                </tr>
              );
            })}
        </tbody>
      </table>
    </section>
  );
}
