// The agent page's softphone: JsSIP registered over /ws with a key of this console session
// (POST /api/v1/users/me/softphone; the extension's own SIP secret never reaches the page),
// WebRTC audio to pbxd. One call at a time; a second incoming call is refused busy (486) so
// that an agent is never rung twice (the queues know he is busy anyway).
// State goes to `onChange(state)` as a plain object; the page renders it.
import JsSIP from 'jssip';
import { api } from './api.js';

const KEY_PATH = '/api/v1/users/me/softphone';
const AUDIO_ONLY = { audio: true, video: false };
const RECONNECT_SECONDS = [2, 4, 8, 16, 30];

export const IDLE_STATE = {
  registration: 'stopped', // stopped | connecting | registered | unregistered | failed | in_use | taken_over | insecure
  error: null,
  extension: null,
  call: null, // {id, cdrCallId, queue, direction, number, name, internal, status, held, muted, since, answeredAt}
  wrapUp: null, // the last customer call, until its disposition is saved
};

// What pbxd tells the page of a call (pbxd/call/legs.py CALL_INFO_HEADERS).
const CALL_KIND_HEADER = 'X-CooCenter-Call';
const CALL_ID_HEADER = 'X-CooCenter-Call-Id';
const QUEUE_HEADER = 'X-CooCenter-Queue';

function callKind(message) {
  return (message && message.getHeader(CALL_KIND_HEADER)) || null;
}

export class Softphone {
  constructor(onChange, audio) {
    this.onChange = onChange;
    this.audio = audio; // the <audio> element that plays the remote party
    this.state = { ...IDLE_STATE };
    this.ua = null;
    this.session = null;
  }

  /** Get a key and register; `takeOver`: end another browser's softphone of this extension. */
  async start(takeOver = false) {
    this.stop();
    // Browsers give a page the microphone only over HTTPS (or on localhost).
    if (!window.isSecureContext || !navigator.mediaDevices) {
      this._set({ registration: 'insecure', error: null });
      return;
    }
    this._set({ registration: 'connecting', error: null });
    let key;
    try {
      key = await api('POST', KEY_PATH, { take_over: takeOver });
    } catch (err) {
      const inUse = err.code === 'softphone_in_use';
      this._set({ registration: inUse ? 'in_use' : 'failed', error: err.message });
      return;
    }
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new JsSIP.WebSocketInterface(`${scheme}://${location.host}${key.ws_path}`);
    const ua = new JsSIP.UA({
      sockets: [socket],
      uri: `sip:${key.extension}@${location.hostname}`,
      authorization_user: key.auth_user,
      password: key.password,
      register: true,
      session_timers: false,
      connection_recovery_min_interval: RECONNECT_SECONDS[0],
      connection_recovery_max_interval: RECONNECT_SECONDS[RECONNECT_SECONDS.length - 1],
      user_agent: 'CooCenter agent page',
    });
    this.ua = ua;
    this._set({ extension: key.extension });
    ua.on('registered', () => this._set({ registration: 'registered', error: null }));
    ua.on('unregistered', () => this.ua === ua && this._set({ registration: 'unregistered' }));
    ua.on('disconnected', () => this.ua === ua && this._set({ registration: 'connecting' }));
    ua.on('registrationFailed', (e) => {
      // 403 after a take-over elsewhere: the key of this page is dead; say so and stop.
      const refused = e.response && e.response.status_code === 403;
      this._set({ registration: refused ? 'taken_over' : 'failed', error: e.cause || null });
      if (refused) this.stop('taken_over');
    });
    ua.on('newRTCSession', (e) => this._newSession(e));
    ua.start();
  }

  stop(registration = 'stopped') {
    const ua = this.ua;
    this.ua = null;
    if (this.session) this._end(this.session);
    if (ua) ua.stop();
    this._set({ registration, call: null });
  }

  /** Release the key (the agent leaves the page on purpose). */
  async release() {
    this.stop();
    try {
      await api('DELETE', KEY_PATH);
    } catch {
      // the session may be gone already: nothing left to release
    }
  }

  call(number) {
    if (!this.ua || this.session) return;
    const target = `sip:${number}@${location.hostname}`;
    this.ua.call(target, { mediaConstraints: AUDIO_ONLY, rtcOfferConstraints: { offerToReceiveAudio: true } });
  }

  answer() {
    if (this.session && this.state.call && this.state.call.status === 'ringing') {
      this.session.answer({ mediaConstraints: AUDIO_ONLY });
    }
  }

  wrappedUp() {
    this._set({ wrapUp: null });
  }

  hangUp() {
    if (this.session) this.session.terminate();
  }

  setHeld(held) {
    if (!this.session) return;
    if (held) this.session.hold();
    else this.session.unhold();
  }

  setMuted(muted) {
    if (!this.session) return;
    if (muted) this.session.mute(AUDIO_ONLY);
    else this.session.unmute(AUDIO_ONLY);
    this._setCall({ muted });
  }

  sendDigit(digit) {
    if (this.session && this.state.call && this.state.call.status === 'talking') {
      this.session.sendDTMF(digit, { duration: 120, interToneGap: 80 });
    }
  }

  _newSession({ session, originator, request }) {
    if (this.session && originator === 'remote' && callKind(request) === 'recover') {
      // pbxd lost this page's call (its connection dropped) and brings it back: the old
      // session is dead, the new one replaces it.
      this._end(this.session);
    }
    if (this.session) {
      session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
      return;
    }
    this.session = session;
    const identity = session.remote_identity;
    this._setCall({
      id: request.call_id,
      // Click-to-dial: pbxd rings the agent first, then the number; for him it is outgoing.
      direction: originator === 'remote' && callKind(request) !== 'originate' ? 'in' : 'out',
      number: identity.uri.user,
      name: identity.display_name || '',
      status: originator === 'remote' ? 'ringing' : 'calling',
      // An internal call (agent to agent, brochure 5.12) cannot be held, transferred or
      // muted: pbxd says so in the INVITE it sends, or in its 200 to ours.
      internal: originator === 'remote' && callKind(request) === 'internal',
      // A supervisor's monitoring call (he asked for it a moment ago): answered at once.
      monitor: originator === 'remote' && callKind(request) === 'monitor',
      // The call's id in the call history (its wrap-up is written against it) and its queue.
      cdrCallId: (originator === 'remote' && request.getHeader(CALL_ID_HEADER)) || request.call_id,
      queue: (originator === 'remote' && request.getHeader(QUEUE_HEADER)) || null,
      held: false,
      muted: false,
      since: Date.now(),
      answeredAt: null,
    });
    const attach = (connection) => {
      connection.addEventListener('track', (event) => {
        if (this.audio && event.streams[0]) {
          this.audio.srcObject = event.streams[0];
          this.audio.play().catch(() => {});
        }
      });
    };
    if (session.connection) attach(session.connection);
    else session.on('peerconnection', (e) => attach(e.peerconnection));
    // He asked for it a moment ago (monitoring, click-to-dial), or it is his own customer
    // call coming back after a reload or a network loss (recover): answered at once.
    const kind = originator === 'remote' ? callKind(request) : null;
    if (kind === 'monitor' || kind === 'originate' || kind === 'recover') this.answer();
    session.on('accepted', (e) => {
      if (e.originator === 'remote' && callKind(e.response) === 'internal') {
        this._setCall({ internal: true });
      }
    });
    session.on('confirmed', () => this._setCall({ status: 'talking', answeredAt: Date.now() }));
    session.on('hold', (e) => e.originator === 'local' && this._setCall({ held: true }));
    session.on('unhold', (e) => e.originator === 'local' && this._setCall({ held: false }));
    session.on('ended', () => this._end(session));
    session.on('failed', () => this._end(session));
  }

  _end(session) {
    if (this.session !== session) return;
    this.session = null;
    if (!session.isEnded()) session.terminate();
    if (this.audio) this.audio.srcObject = null;
    const call = this.state.call;
    // A customer call that was talked gets its wrap-up (disposition) after it.
    const customer = call && call.answeredAt && !call.internal && !call.monitor;
    const wrapUp = customer ? call : this.state.wrapUp;
    this._set({ call: null, wrapUp });
  }

  _setCall(changes) {
    this._set({ call: { ...(this.state.call || {}), ...changes } });
  }

  _set(changes) {
    this.state = { ...this.state, ...changes };
    this.onChange(this.state);
  }
}
