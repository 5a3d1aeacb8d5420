// The supervisor's live calls (监听 / 密语 / 强插 / 强拆): every customer call of his queues'
// agents, refreshed whenever the wallboard moves (pushed, no polling). Listening rings his own
// extension: the softphone beside the page answers it at once; a desk phone rings.
import { useCallback, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { errorMessage } from '../components/errors.js';
import { Alert, EmptyRow, PageHead } from '../components/Page.jsx';
import { formatDuration } from '../format.js';
import { t } from '../i18n/index.js';
import { useLive } from '../live.js';

const MODES = ['listen', 'whisper', 'barge'];

function CallRow({ call, me, onAction, busy }) {
  const mine = call.monitors.find((monitor) => monitor.supervisor === me);
  return (
    <tr data-id={call.id} data-agent={call.agent}>
      <td>{call.queue || '—'}</td>
      <td>{call.agent}</td>
      <td class="mono">{call.customer}</td>
      <td>{formatDuration(call.duration)}</td>
      <td>
        {call.monitors.map((monitor) => (
          <span class="badge subtle" key={monitor.supervisor} data-mode={monitor.mode}>
            {monitor.supervisor} · {t(`livecalls.mode.${monitor.mode}`)}
          </span>
        ))}
      </td>
      <td class="actions">
        {MODES.map((mode) => (
          <button
            type="button"
            key={mode}
            data-action={mode}
            aria-pressed={Boolean(mine && mine.mode === mode)}
            disabled={busy}
            onClick={() => onAction(call.agent, 'monitor', { mode })}
          >
            {t(`livecalls.mode.${mode}`)}
          </button>
        ))}
        <button
          type="button"
          class="danger"
          data-action="hangup"
          disabled={busy}
          onClick={() => onAction(call.agent, 'hangup', {})}
        >
          {t('livecalls.hangup')}
        </button>
      </td>
    </tr>
  );
}

export function LiveCalls({ user }) {
  const [calls, setCalls] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const load = useCallback(async () => {
    try {
      const data = await api('GET', '/api/v1/calls/live');
      setCalls(data.items);
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, []);
  // Every change of a queue or an agent (a call answered, ended, transferred) is a wallboard
  // push: the list is read again then.
  const live = useLive(() => load(), { topics: ['wallboard'] });
  const act = async (agent, action, body) => {
    setBusy(true);
    try {
      await api('POST', `/api/v1/agents/${seg(agent)}/${action}`, body);
      setError(null);
      await load();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="page" data-page="live-calls">
      <PageHead title={t('livecalls.title')}>
        <span class={`badge live-${live.status}`} data-testid="live-status">
          {t(`livecalls.link.${live.status}`)}
        </span>
      </PageHead>
      {!user.extension && <Alert kind="info">{t('livecalls.no_extension')}</Alert>}
      <Alert testId="load-error">{error}</Alert>
      <table class="grid" data-testid="live-calls">
        <thead>
          <tr>
            <th>{t('livecalls.queue')}</th>
            <th>{t('livecalls.agent')}</th>
            <th>{t('livecalls.customer')}</th>
            <th>{t('livecalls.duration')}</th>
            <th>{t('livecalls.monitors')}</th>
            <th>{t('common.actions')}</th>
          </tr>
        </thead>
        <tbody>
          <EmptyRow columns={6} rows={calls} emptyText={t('livecalls.none')} />
          {(calls || []).map((call) => (
            <CallRow key={call.id} call={call} me={user.extension} onAction={act} busy={busy} />
          ))}
        </tbody>
      </table>
    </section>
  );
}
