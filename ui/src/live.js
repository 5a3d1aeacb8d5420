// The live channel of pbxd (/api/v1/live, docs/WEBUI.md "Live channel"): one WebSocket that
// pushes the wallboard, the agent's own state and what call control sends to the agent
// (screen pops). The session cookie authenticates it; it reconnects by itself with backoff.
//
//   const live = useLive((message) => { ... }, { topics: ['wallboard'] });
//   live.status: 'connecting' | 'open' | 'disconnected' | 'refused'; live.reason: the server's
//   words when it closed the channel; live.clockOffset: ms the browser's clock is ahead of
//   pbxd's (subtract it from Date.now() before comparing with the times pbxd sends).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';

export const LIVE_PATH = '/api/v1/live';
const PROTOCOL = 'pbxd.live';
// Close codes of pbxd (pbxd/services/live.py).
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;
// Reconnect after 0.5 s, then longer, up to 20 s (a little random: not all tabs at once).
const BACKOFF_MS = [500, 1000, 2000, 5000, 10000, 20000];
// The page asks for a pong this often; none within PONG_MS: the link is dead, start again.
const PING_MS = 25000;
const PONG_MS = 10000;

export function liveUrl(topics) {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const wanted = topics && topics.length ? topics.map(encodeURIComponent).join(',') : '';
  const query = wanted ? `?topics=${wanted}` : '';
  return `${scheme}//${window.location.host}${LIVE_PATH}${query}`;
}

/**
 * Opens the channel: onMessage(message) for every message (a JSON object with a `type`),
 * onStatus({status, reason}) when the connection changes. Returns {close()}.
 */
export function openLive({ topics, onMessage, onStatus }) {
  let socket = null;
  let retry = null;
  let pinger = null;
  let attempt = 0;
  let stopped = false;
  let pingSentAt = null;

  const stopTimers = () => {
    clearTimeout(retry);
    clearInterval(pinger);
    retry = pinger = null;
  };

  const again = (reason) => {
    onStatus({ status: 'disconnected', reason: reason || null });
    const base = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
    attempt += 1;
    retry = setTimeout(connect, base * (0.8 + Math.random() * 0.4));
  };

  // The link is gone (closed, or silent): forget this socket and try again later.
  const lost = (event, opened) => {
    stopTimers();
    socket = null;
    if (stopped) return;
    const code = event ? event.code : 0;
    if (code === CLOSE_FORBIDDEN) {
      onStatus({ status: 'refused', reason: event.reason || null });
      return;
    }
    if (code === CLOSE_UNAUTHORIZED || !opened) {
      // The session may have ended (a refused handshake looks like any failure to a page):
      // any API call answering 401 takes the console back to its login page.
      api('GET', '/api/v1/users/me').catch(() => {});
    }
    again(event && event.reason);
  };

  function connect() {
    if (stopped) return;
    onStatus({ status: 'connecting', reason: null });
    let opened = false;
    const ws = new WebSocket(liveUrl(topics), [PROTOCOL]);
    socket = ws;
    ws.onopen = () => {
      opened = true;
      attempt = 0;
      pingSentAt = null;
      onStatus({ status: 'open', reason: null });
      pinger = setInterval(() => {
        if (pingSentAt !== null && Date.now() - pingSentAt > PONG_MS) {
          ws.onclose = null;
          ws.close();
          lost(null, true);
          return;
        }
        pingSentAt = Date.now();
        ws.send(JSON.stringify({ type: 'ping' }));
      }, PING_MS);
    };
    ws.onmessage = (event) => {
      pingSentAt = null; // anything from pbxd shows the link is alive
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message && message.type !== 'pong') onMessage(message);
    };
    ws.onclose = (event) => lost(event, opened);
  }

  connect();
  return {
    close() {
      stopped = true;
      stopTimers();
      if (socket) {
        socket.onclose = null;
        socket.close(1000);
        socket = null;
      }
    },
  };
}

/**
 * The live channel for a component: `onMessage(message)` (the newest function given is
 * called); `topics` (['wallboard'], ['agent']; default: all the user's role gets). Returns
 * {status, reason, clockOffset}.
 */
export function useLive(onMessage, { topics } = {}) {
  const handler = useRef(onMessage);
  handler.current = onMessage;
  const [state, setState] = useState({ status: 'connecting', reason: null, clockOffset: 0 });
  const key = topics ? topics.join(',') : '';
  useEffect(() => {
    const client = openLive({
      topics,
      onMessage: (message) => {
        if (message.time) {
          const offset = Date.now() - new Date(message.time).getTime();
          if (!Number.isNaN(offset)) setState((old) => ({ ...old, clockOffset: offset }));
        }
        handler.current(message);
      },
      onStatus: (next) => setState((old) => ({ ...old, ...next })),
    });
    return () => client.close();
  }, [key]);
  return state;
}
