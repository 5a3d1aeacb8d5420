// Log in / out / pause (with a reason: 示忙原因) / unpause one agent; every action answers the
// agent's new state.
import { useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { t } from '../i18n/index.js';

// The reasons a phone gives with *46<n> too (pbxd/call/dialplan.py PAUSE_REASONS).
export const PAUSE_REASONS = ['break', 'lunch', 'meeting', 'training', 'after-call work'];

/** A pause reason as the console shows it: the named ones translated, others as given. */
export function reasonLabel(reason) {
  if (!reason) return '—';
  return PAUSE_REASONS.includes(reason) ? t(`agents.reason.${reason.replace(/ /g, '_')}`) : reason;
}

export function AgentActions({ agent, onDone, onError, busy, setBusy }) {
  const [reason, setReason] = useState('');
  const run = async (action) => {
    setBusy(agent.extension);
    const body = action === 'pause' && reason ? { reason } : undefined;
    try {
      onDone(await api('POST', `/api/v1/agents/${seg(agent.extension)}/${action}`, body));
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
      {agent.logged_in && !agent.paused && (
        <select
          class="small"
          data-testid="pause-reason"
          aria-label={t('agents.choose_reason')}
          value={reason}
          onChange={(event) => setReason(event.currentTarget.value)}
        >
          <option value="">{t('agents.choose_reason')}</option>
          {PAUSE_REASONS.map((code) => (
            <option key={code} value={code}>
              {t(`agents.reason.${code.replace(/ /g, '_')}`)}
            </option>
          ))}
        </select>
      )}
      {agent.logged_in &&
        (agent.paused
          ? button('unpause', t('agents.unpause'))
          : button('pause', t('agents.pause')))}
    </span>
  );
}
