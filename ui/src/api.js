// The JSON API of pbxd, with the session cookie and the CSRF token of the session.
// Errors come back as ApiError carrying the server's {code, message, field}.
import { language } from './i18n/index.js';

let csrfToken = null;
let onUnauthorized = null;

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
}

export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** Called when a request answers 401 (the session ended): the app shows the login page. */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * Calls the API. `body` is sent as JSON, or as is when it is FormData (multipart upload) or a
 * Blob (a file as the body, sent with the Blob's type).
 * Returns the decoded JSON (null for 204); throws ApiError for every non-2xx answer.
 */
export async function api(method, path, body) {
  try {
    return await request(method, path, body);
  } catch (err) {
    // A 403 `csrf` means this page holds a stale token (another tab logged in again): take
    // the session's current token and try once more (docs/WEBAUTH.md).
    if (!(err instanceof ApiError) || err.code !== 'csrf' || path === SESSION_PATH) throw err;
    let session;
    try {
      session = await request('GET', SESSION_PATH);
    } catch (again) {
      if (again.status === 401 && onUnauthorized) onUnauthorized(again);
      throw again;
    }
    setCsrfToken(session.csrf_token);
    return request(method, path, body);
  }
}

const SESSION_PATH = '/api/v1/auth/session';

async function request(method, path, body) {
  const headers = { Accept: 'application/json', 'Accept-Language': language() };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (!SAFE_METHODS.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (body instanceof FormData) {
    init.body = body;
  } else if (body instanceof Blob) {
    // a file as the whole body (a backup to restore), with the Blob's type
    headers['Content-Type'] = body.type || 'application/octet-stream';
    init.body = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'network', String(err && err.message ? err.message : err));
  }
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await response.json().catch(() => null) : null;
  if (response.ok) return data;
  const error = (data && data.error) || {};
  const failure = new ApiError(
    response.status,
    error.code || `http_${response.status}`,
    error.message || response.statusText || `HTTP ${response.status}`,
    error.field,
  );
  if (response.status === 401 && onUnauthorized && !path.startsWith('/api/v1/auth/')) {
    onUnauthorized(failure);
  }
  throw failure;
}

/** Path segment escaping for ids in URLs. */
export function seg(value) {
  return encodeURIComponent(String(value));
}
