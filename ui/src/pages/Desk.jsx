// The start page of every role: who is logged in and, with an extension, his agent state.
import { useCallback, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { AgentActions } from '../components/AgentActions.jsx';
import { errorMessage } from '../components/errors.js';
import { Alert, PageHead } from '../components/Page.jsx';
import { formatDateTime } from '../format.js';
import { useRefresh } from '../hooks.js';
import { t } from '../i18n/index.js';
import { REFRESH_MS, StateBadge } from './Agents.jsx';

function OwnAgent({ extension }) {
  const [agent, setAgent] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(null);
  const load = useCallback(async () => {
    try {
      setAgent(await api('GET', `/api/v1/agents/${seg(extension)}`));
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, [extension]);
  useRefresh(load, REFRESH_MS);
  return (
    <div class="panel" data-testid="own-agent">
      <h2>{t('desk.agent_title', { extension })}</h2>
      <Alert>{error}</Alert>
      {agent && (
        <dl class="facts">
          <dt>{t('agents.state')}</dt>
          <dd>
            <StateBadge state={agent.state} />
          </dd>
          <dt>{t('desk.since')}</dt>
          <dd>{formatDateTime(agent.state_since) || '—'}</dd>
          <dt>{t('agents.queues')}</dt>
          <dd>{agent.queues.map((entry) => entry.queue).join(', ') || '—'}</dd>
          <dt>{t('common.actions')}</dt>
          <dd>
            <AgentActions
              agent={agent}
              busy={busy}
              setBusy={setBusy}
              onDone={setAgent}
              onError={(err) => setError(errorMessage(err))}
            />
          </dd>
        </dl>
      )}
    </div>
  );
}

export function Desk({ user }) {
  return (
    <section class="page" data-page="desk">
      <PageHead title={t('desk.title')} />
      <div class="cards">
        <div class="panel">
          <h2>{t('desk.account')}</h2>
          <dl class="facts">
            <dt>{t('desk.username')}</dt>
            <dd>{user.username}</dd>
            <dt>{t('desk.role')}</dt>
            <dd>{t(`role.${user.role}`)}</dd>
            <dt>{t('desk.extension')}</dt>
            <dd>{user.extension || '—'}</dd>
            <dt>{t('desk.queues')}</dt>
            <dd>{(user.queues || []).join(', ') || '—'}</dd>
          </dl>
        </div>
        {user.extension && <OwnAgent extension={user.extension} />}
      </div>
    </section>
  );
}
