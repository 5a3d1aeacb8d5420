// Log in / out / pause / unpause one agent; every action answers the agent's new state.
import { api, seg } from '../api.js';
import { t } from '../i18n/index.js';

export function agentAction(extension, action, body) {
  return api('POST', `/api/v1/agents/${seg(extension)}/${action}`, body);
}

export function AgentActions({ agent, onDone, onError, busy, setBusy }) {
  const run = async (action) => {
    setBusy(agent.extension);
    try {
      onDone(await agentAction(agent.extension, action));
    } catch (err) {
      onError(err, agent);
    } finally {
      setBusy(null);
    }
  };
  const disabled = busy === agent.extension;
  return (
    <span class="buttons">
      {agent.logged_in ? (
        <button type="button" class="small" disabled={disabled} onClick={() => run('logout')}>
          {t('agents.logout')}
        </button>
      ) : (
        <button type="button" class="small" disabled={disabled} onClick={() => run('login')}>
          {t('agents.login')}
        </button>
      )}
      {agent.logged_in &&
        (agent.paused ? (
          <button type="button" class="small" disabled={disabled} onClick={() => run('unpause')}>
            {t('agents.unpause')}
          </button>
        ) : (
          <button type="button" class="small" disabled={disabled} onClick={() => run('pause')}>
            {t('agents.pause')}
          </button>
        ))}
    </span>
  );
}
