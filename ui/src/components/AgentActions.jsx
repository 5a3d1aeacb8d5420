// Log in / out / pause / unpause one agent; every action answers the agent's new state.
import { api, seg } from '../api.js';
import { t } from '../i18n/index.js';

export function AgentActions({ agent, onDone, onError, busy, setBusy }) {
  const run = async (action) => {
    setBusy(agent.extension);
    try {
      onDone(await api('POST', `/api/v1/agents/${seg(agent.extension)}/${action}`));
    } catch (err) {
      onError(err, agent);
    } finally {
      setBusy(null);
    }
  };
  const button = (action, label) => (
    <button
      type="button"
      class="small"
      disabled={busy === agent.extension}
      onClick={() => run(action)}
    >
      {label}
    </button>
  );
  return (
    <span class="buttons">
      {agent.logged_in
        ? button('logout', t('agents.logout'))
        : button('login', t('agents.login'))}
      {agent.logged_in &&
        (agent.paused
          ? button('unpause', t('agents.unpause'))
          : button('pause', t('agents.pause')))}
    </span>
  );
}
