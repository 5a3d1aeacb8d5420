// The controls of an agent's customer call that pbxd carries out (hold with music, mute,
// blind and consultative transfer, three-way): the same for a browser softphone and a desk
// phone (POST /api/v1/agents/{ext}/call/<action>). Internal calls have none (brochure 5.12).
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { t } from '../i18n/index.js';
import { errorMessage } from './errors.js';
import { Alert } from './Page.jsx';

const REFRESH_MS = 3000; // the consultation's ringing -> connected shows within this

export function AgentCallControls({ extension }) {
  const [call, setCall] = useState(null);
  const [target, setTarget] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const path = `/api/v1/agents/${seg(extension)}/call`;
  const load = useCallback(async () => {
    try {
      setCall((await api('GET', path)).call);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, [path]);
  useEffect(() => {
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

  const act = async (action, body) => {
    setBusy(true);
    try {
      setCall((await api('POST', `${path}/${action}`, body)).call);
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  if (!call) return <Alert>{error}</Alert>;
  const consultation = call.consultation;
  return (
    <div class="agent-call-controls" data-testid="call-controls" data-phase={call.phase}>
      <Alert>{error}</Alert>
      <div class="toolbar">
        <button type="button" data-testid="call-hold" aria-pressed={call.held} disabled={busy}
                onClick={() => act(call.held ? 'resume' : 'hold')}>
          {t(call.held ? 'softphone.resume' : 'softphone.hold')}
        </button>
        <button type="button" data-testid="call-mute" aria-pressed={call.muted} disabled={busy}
                onClick={() => act(call.muted ? 'unmute' : 'mute')}>
          {t(call.muted ? 'softphone.unmute' : 'softphone.mute')}
        </button>
      </div>
      {call.phase === 'talking' && (
        <form class="transfer" onSubmit={(event) => event.preventDefault()}>
          <input
            type="tel"
            data-testid="transfer-target"
            placeholder={t('controls.target')}
            aria-label={t('controls.target')}
            value={target}
            onInput={(event) => setTarget(event.currentTarget.value.replace(/[^0-9*#+]/g, ''))}
          />
          <button type="button" data-testid="transfer-blind" disabled={busy || !target}
                  onClick={() => act('transfer', { to: target })}>
            {t('controls.transfer')}
          </button>
          <button type="button" data-testid="transfer-consult" disabled={busy || !target}
                  onClick={() => act('consult', { to: target })}>
            {t('controls.consult')}
          </button>
        </form>
      )}
      {consultation && (
        <div class="consultation" data-testid="consultation" data-state={consultation.state}>
          <span>
            {t(call.phase === 'conference' ? 'controls.conference_with' : 'controls.consulting', {
              target: consultation.target,
            })}{' '}
            · {t(`controls.state.${consultation.state}`)}
          </span>
          <div class="toolbar">
            {call.phase === 'consulting' && (
              <button type="button" class="primary" data-testid="consult-complete"
                      disabled={busy || consultation.state !== 'connected'}
                      onClick={() => act('consult/complete')}>
                {t('controls.complete')}
              </button>
            )}
            {call.phase === 'consulting' && (
              <button type="button" data-testid="consult-conference"
                      disabled={busy || consultation.state !== 'connected'}
                      onClick={() => act('conference')}>
                {t('controls.three_way')}
              </button>
            )}
            <button type="button" data-testid="consult-cancel" disabled={busy}
                    onClick={() => act('consult/cancel')}>
              {t('controls.cancel')}
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
