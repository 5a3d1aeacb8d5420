// The browser softphone of the agent page: registration state, dialling, the ringing call
// (with the caller's screen pop), and the controls of the call in progress.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { formatDateTime } from '../format.js';
import { t } from '../i18n/index.js';
import { useLive } from '../live.js';
import { IDLE_STATE, Softphone } from '../softphone.js';
import { AgentCallControls } from './AgentCallControls.jsx';
import { Disposition } from './Disposition.jsx';
import { errorMessage } from './errors.js';
import { Alert } from './Page.jsx';
import { ScreenPop } from './ScreenPop.jsx';

const KEYPAD = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

function useSoftphone() {
  const audio = useRef(null);
  const phone = useRef(null);
  const [state, setState] = useState(IDLE_STATE);
  useEffect(() => {
    const softphone = new Softphone(setState, audio.current);
    phone.current = softphone;
    softphone.start();
    // Leaving the page (reload, another page) ends the registration; the key stays with the
    // session, so the next page load registers again at once.
    return () => softphone.stop();
  }, []);
  return { audio, phone, state };
}

function Duration({ since }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const seconds = Math.max(0, Math.floor((now - since) / 1000));
  const mm = String(Math.floor(seconds / 60)).padStart(2, '0');
  const ss = String(seconds % 60).padStart(2, '0');
  return <span data-testid="call-duration">{`${mm}:${ss}`}</span>;
}

function Registration({ state, onTakeOver, onRetry }) {
  const { registration } = state;
  return (
    <div class="softphone-status">
      <span class={`badge state-${registration}`} data-testid="softphone-registration" data-state={registration}>
        {t(`softphone.registration.${registration}`)}
      </span>
      {registration === 'in_use' && (
        <button type="button" data-testid="softphone-take-over" onClick={onTakeOver}>
          {t('softphone.take_over')}
        </button>
      )}
      {registration === 'insecure' && (
        <p class="muted" data-testid="softphone-insecure">
          {t('softphone.insecure', { address: `https://${location.hostname}:8443/` })}
        </p>
      )}
      {(registration === 'failed' || registration === 'taken_over') && (
        <button type="button" data-testid="softphone-retry" onClick={onRetry}>
          {t('softphone.retry')}
        </button>
      )}
    </div>
  );
}

function Dialer({ onCall, disabled }) {
  const [number, setNumber] = useState('');
  const submit = (event) => {
    event.preventDefault();
    if (number.trim()) onCall(number.trim());
  };
  return (
    <form class="softphone-dialer" onSubmit={submit}>
      <input
        type="tel"
        data-testid="softphone-number"
        placeholder={t('softphone.number')}
        aria-label={t('softphone.number')}
        value={number}
        onInput={(event) => setNumber(event.currentTarget.value.replace(/[^0-9*#+]/g, ''))}
      />
      <button type="submit" data-testid="softphone-call" disabled={disabled || !number.trim()}>
        {t('softphone.call')}
      </button>
    </form>
  );
}

function Keypad({ onDigit }) {
  return (
    <div class="keypad" data-testid="softphone-keypad">
      {KEYPAD.map((digit) => (
        <button type="button" key={digit} data-digit={digit} onClick={() => onDigit(digit)}>
          {digit}
        </button>
      ))}
    </div>
  );
}

function CallControls({ call, phone, renderPop, extension }) {
  const [keypad, setKeypad] = useState(false);
  const talking = call.status === 'talking';
  // A queue call is an agent call pbxd controls (music on hold, transfers); other customer
  // calls are held and muted by the browser; internal calls not at all (brochure 5.12).
  const byServer = talking && Boolean(call.queue);
  const controllable = talking && !call.internal && !byServer && !call.monitor;
  return (
    <div class={`softphone-call status-${call.status}`} data-testid="softphone-call-panel" data-status={call.status}>
      <div class="call-party">
        {/* A customer's number is shown by the screen pop, masked for this user. */}
        <strong data-testid="call-party">
          {call.internal ? call.number : t(call.direction === 'in' ? 'softphone.incoming' : 'softphone.outgoing')}
        </strong>
        <span class="call-status"> · {t(`softphone.status.${call.held ? 'held' : call.status}`)}</span>
        {call.internal && (
          <span class="badge" data-testid="call-internal">
            {t('softphone.internal')}
          </span>
        )}
        {call.answeredAt && (
          <span>
            {' · '}
            <Duration since={call.answeredAt} />
          </span>
        )}
      </div>
      {renderPop && renderPop(call)}
      <div class="toolbar">
        {call.status === 'ringing' && call.direction === 'in' && (
          <button type="button" class="primary" data-testid="softphone-answer" onClick={() => phone.answer()}>
            {t('softphone.answer')}
          </button>
        )}
        {controllable && (
          <button type="button" data-testid="softphone-hold" aria-pressed={call.held} onClick={() => phone.setHeld(!call.held)}>
            {t(call.held ? 'softphone.resume' : 'softphone.hold')}
          </button>
        )}
        {controllable && (
          <button type="button" data-testid="softphone-mute" aria-pressed={call.muted} onClick={() => phone.setMuted(!call.muted)}>
            {t(call.muted ? 'softphone.unmute' : 'softphone.mute')}
          </button>
        )}
        {talking && (
          <button type="button" data-testid="softphone-keypad-toggle" aria-pressed={keypad} onClick={() => setKeypad(!keypad)}>
            {t('softphone.keypad')}
          </button>
        )}
        <button type="button" class="danger" data-testid="softphone-hangup" onClick={() => phone.hangUp()}>
          {t(call.status === 'ringing' && call.direction === 'in' ? 'softphone.decline' : 'softphone.hangup')}
        </button>
      </div>
      {byServer && <AgentCallControls extension={extension} />}
      {talking && keypad && <Keypad onDigit={(digit) => phone.sendDigit(digit)} />}
    </div>
  );
}

// The screen pop of a customer call, inbound or outbound (an internal call pops nothing).
function popOf(call) {
  if (call.internal || call.monitor) return null;
  return (
    <ScreenPop
      direction={call.direction === 'in' ? 'inbound' : 'outbound'}
      queue={call.queue}
      callId={call.cdrCallId}
      byCall
    />
  );
}

// A customer call pbxd rings the agent with (pushed over /api/v1/live): a desk phone's call
// pops and wraps up like the softphone's; one the softphone carries is its own already.
function useDeskPhoneCall(softphoneCall) {
  const [call, setCall] = useState(null);
  const [wrapUp, setWrapUp] = useState(null);
  // The calls the softphone answered: their pop and wrap-up are the softphone's.
  const carried = useRef(new Set());
  if (softphoneCall && softphoneCall.answeredAt) carried.current.add(softphoneCall.cdrCallId);
  useLive(
    (message) => {
      if (message.type !== 'call') return;
      if (message.event === 'ringing') {
        setCall({ ...message, answered: false });
      } else if (message.event === 'answered') {
        setCall((old) => (old && old.call_id === message.call_id ? { ...old, answered: true } : old));
      } else if (message.event === 'ended') {
        setCall((old) => {
          const own = carried.current.has(message.call_id);
          if (old && old.call_id === message.call_id && old.answered && !own) setWrapUp(old);
          return old && old.call_id === message.call_id ? null : old;
        });
      }
    },
    { topics: ['agent'] },
  );
  const mine = softphoneCall && call && softphoneCall.cdrCallId === call.call_id;
  return { call: mine ? null : call, wrapUp, wrappedUp: () => setWrapUp(null) };
}

function DeskPhoneCall({ call, extension }) {
  return (
    <div class="softphone-call" data-testid="deskphone-call" data-status={call.answered ? 'talking' : 'ringing'}>
      <div class="call-party">
        <strong>{t('softphone.deskphone')}</strong>
        <span class="call-status"> · {t(`softphone.status.${call.answered ? 'talking' : 'ringing'}`)}</span>
      </div>
      <ScreenPop
        direction={call.kind === 'originate' ? 'outbound' : 'inbound'}
        queue={call.queue}
        callId={call.call_id}
        byCall
      />
      {call.answered && call.queue && <AgentCallControls extension={extension} />}
    </div>
  );
}

// The extension's newest calls, each with a call-back button (click-to-dial: pbxd rings this
// extension, then the other party; the number never has to be known to the page).
function RecentCalls({ refreshKey }) {
  const [calls, setCalls] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api('GET', '/api/v1/users/me/calls?limit=8')
      .then((data) => setCalls(data.items))
      .catch((err) => setError(errorMessage(err)));
  }, [refreshKey]);
  const callBack = async (call) => {
    try {
      await api('POST', `/api/v1/users/me/calls/${seg(call.call_id)}/dial`, {});
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  if (!calls) return <Alert>{error}</Alert>;
  return (
    <div class="recent-calls" data-testid="recent-calls">
      <h3>{t('softphone.recent')}</h3>
      <Alert>{error}</Alert>
      {calls.length === 0 && <p class="muted">{t('softphone.no_recent')}</p>}
      <ul>
        {calls.map((call) => (
          <li key={call.call_id} data-call-id={call.call_id}>
            <span class="mono">{call.direction === 'in' ? '↙' : '↗'} {call.number}</span>
            <span class="muted"> {formatDateTime(call.start)}</span>
            <button type="button" class="small" data-action="call-back" onClick={() => callBack(call)}>
              {t('softphone.call_back')}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The agent's softphone: registration, dialer, the call with its screen pop, the wrap-up. */
export function SoftphonePanel({ extension, renderPop = popOf }) {
  const { audio, phone, state } = useSoftphone();
  const own = extension || state.extension;
  const softphone = phone.current;
  const desk = useDeskPhoneCall(state.call);
  return (
    <div class="panel softphone" data-testid="softphone">
      <h2>{t('softphone.title', { extension: own || '' })}</h2>
      <Registration state={state} onTakeOver={() => softphone.start(true)} onRetry={() => softphone.start()} />
      <Alert>{state.registration === 'failed' || state.registration === 'taken_over' ? state.error || t(`softphone.registration.${state.registration}`) : null}</Alert>
      {state.call ? (
        <CallControls
          call={state.call}
          phone={softphone}
          renderPop={renderPop}
          extension={own}
        />
      ) : (
        <Dialer onCall={(number) => softphone.call(number)} disabled={state.registration !== 'registered'} />
      )}
      {!state.call && state.wrapUp && (
        <Disposition callId={state.wrapUp.cdrCallId} onSaved={() => softphone.wrappedUp()} />
      )}
      {desk.call && <DeskPhoneCall call={desk.call} extension={own} />}
      {!state.call && !desk.call && <RecentCalls refreshKey={`${state.wrapUp && state.wrapUp.id}`} />}
      {!desk.call && desk.wrapUp && (
        <Disposition callId={desk.wrapUp.call_id} onSaved={desk.wrappedUp} />
      )}
      <audio ref={audio} autoplay data-testid="softphone-audio" />
    </div>
  );
}
