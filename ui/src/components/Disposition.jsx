// The wrap-up (话后小结) of one call: a disposition code and a note, saved with
// PUT /api/v1/calls/{callId}/disposition. The agent may change it while he wraps up and later.
//
// Props: callId (the call's CDR call id), agent (optional, supervisors and admins: whose
// disposition; agents always set their own), onSaved(disposition) (optional).
import { useEffect, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { formatDateTime } from '../format.js';
import { t } from '../i18n/index.js';
import { FieldError, useServerErrors } from './Form.jsx';
import { Alert } from './Page.jsx';
import { codeLabel } from './ScreenPop.jsx';

// The call history is written just after a call ends: a wrap-up saved at once may come
// before it (404) and is tried again for a few seconds.
const RECORD_WAIT_MS = [300, 600, 1200, 2400];

async function putWhenRecorded(path, body) {
  for (const wait of RECORD_WAIT_MS) {
    try {
      return await api('PUT', path, body);
    } catch (err) {
      if (err.status !== 404) throw err;
      await new Promise((done) => setTimeout(done, wait));
    }
  }
  return api('PUT', path, body);
}

export function Disposition({ callId, agent, onSaved }) {
  const [codes, setCodes] = useState([]);
  const [code, setCode] = useState('');
  const [note, setNote] = useState('');
  const [saved, setSaved] = useState(null);
  const [notRecorded, setNotRecorded] = useState(false);
  const { errors, formError, busy, run } = useServerErrors(['code', 'note', 'agent']);
  const path = callId ? `/api/v1/calls/${seg(callId)}/disposition` : null;

  useEffect(() => {
    api('GET', '/api/v1/dispositions')
      .then((data) => setCodes(data.items || []))
      .catch(() => setCodes([]));
  }, []);

  // What was given already (a reload of the page, a second look after the call).
  useEffect(() => {
    setCode('');
    setNote('');
    setSaved(null);
    setNotRecorded(false);
    if (!path) return;
    api('GET', path)
      .then((data) => {
        const mine = (data.items || []).find((item) => !agent || item.agent === agent);
        if (mine) {
          setCode(mine.code);
          setNote(mine.note);
          setSaved(mine);
        }
      })
      // 404: not written yet (the history is written when the call ends); nothing to show
      .catch(() => {});
  }, [path, agent]);

  if (!path) return <p class="muted">{t('wrapup.no_call')}</p>;

  // An inactive code a call already carries stays selectable for it.
  const offered =
    saved && !codes.some((item) => item.code === saved.code) ? [...codes, saved] : codes;

  const submit = (event) => {
    event.preventDefault();
    setNotRecorded(false);
    run(async () => {
      const body = { code, note: note.trim() };
      if (agent) body.agent = agent;
      try {
        const result = await putWhenRecorded(path, body);
        setSaved(result);
        if (onSaved) onSaved(result);
      } catch (err) {
        if (err.status === 404) setNotRecorded(true);
        throw err;
      }
    });
  };

  return (
    <form class="panel wrapup" onSubmit={submit} data-testid="disposition" data-call-id={callId}>
      <h2>{t('wrapup.title')}</h2>
      <Alert testId="form-error">{notRecorded ? t('wrapup.not_recorded') : formError}</Alert>
      {saved && !busy && !formError && !notRecorded && (
        <Alert kind="ok">{t('wrapup.saved', { time: formatDateTime(saved.updated_at) })}</Alert>
      )}
      <div class="field">
        <label for="wrapup-code">{t('wrapup.code')}</label>
        <div class="control">
          <select
            id="wrapup-code"
            name="code"
            value={code}
            disabled={busy}
            aria-invalid={errors.code ? 'true' : undefined}
            onChange={(event) => setCode(event.currentTarget.value)}
          >
            <option value="">{t('wrapup.choose')}</option>
            {offered.map((item) => (
              <option key={item.code} value={item.code}>
                {codeLabel(item)}
              </option>
            ))}
          </select>
          <FieldError name="code" message={errors.code || errors.agent} />
        </div>
      </div>
      <div class="field">
        <label for="wrapup-note">{t('wrapup.note')}</label>
        <div class="control">
          <textarea
            id="wrapup-note"
            name="note"
            rows={2}
            maxLength={1000}
            value={note}
            disabled={busy}
            aria-invalid={errors.note ? 'true' : undefined}
            onInput={(event) => setNote(event.currentTarget.value)}
          />
          <FieldError name="note" message={errors.note} />
        </div>
      </div>
      <div class="buttons">
        <button type="submit" disabled={busy || !code}>
          {busy ? t('common.saving') : t('wrapup.save')}
        </button>
      </div>
    </form>
  );
}
