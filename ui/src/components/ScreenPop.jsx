// The screen pop (来电弹屏) of the agent's desk: who rings (or whom the agent dials), how often
// and how the last calls went, with their wrap-up and the memos colleagues wrote, and a form
// for a new memo. Numbers come masked by the server for the user's masking setting.
//
// Props: number (the whole number, as the phone has it), direction ('inbound' | 'outbound'),
// queue (the queue the call came through, optional), callId (optional: the CDR call id the
// new memos are written during), byCall (pop the call `callId` rather than `number`: the
// server finds the customer; the agent page does so for every call).
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { formatDateTime, formatDuration } from '../format.js';
import { language, t } from '../i18n/index.js';
import { dispositionText } from '../pages/options.js';
import { errorMessage } from './errors.js';
import { FieldError, useServerErrors } from './Form.jsx';
import { Alert, EmptyRow } from './Page.jsx';

// What POST /api/v1/memos takes as a customer number (pbxd/services/contacts.py).
const MEMO_NUMBER = /^\+?[0-9]{3,32}$/;

/** A disposition code's label in the console's language; the code itself when it has none. */
export function codeLabel(item) {
  const label = language() === 'en' ? item.label_en : item.label_zh;
  return label || item.label_en || item.label_zh || item.code;
}

function orDash(value) {
  return value === null || value === undefined || value === '' ? '—' : value;
}

function Wrapups({ items }) {
  if (!items.length) return '—';
  return items.map((item) => (
    <div class="wrapup-item" key={item.agent} data-code={item.code}>
      <span class="badge subtle">{codeLabel(item)}</span>
      {item.note && <span class="note"> {item.note}</span>}
    </div>
  ));
}

function LastCalls({ calls }) {
  return (
    <table class="grid compact" data-testid="screen-pop-calls">
      <thead>
        <tr>
          <th>{t('screenpop.time')}</th>
          <th>{t('screenpop.direction')}</th>
          <th>{t('screenpop.queue')}</th>
          <th>{t('screenpop.agent')}</th>
          <th class="num">{t('screenpop.duration')}</th>
          <th>{t('screenpop.result')}</th>
          <th>{t('screenpop.wrapup')}</th>
        </tr>
      </thead>
      <tbody>
        <EmptyRow columns={7} rows={calls} emptyText={t('screenpop.no_calls')} />
        {calls.map((call) => (
          <tr key={call.call_id} data-call-id={call.call_id}>
            <td class="nowrap">{formatDateTime(call.start)}</td>
            <td>{t(`screenpop.direction_${call.direction}`)}</td>
            <td>{orDash(call.queue)}</td>
            <td>{orDash(call.agent)}</td>
            <td class="num">{formatDuration(call.billsec)}</td>
            <td>{dispositionText(call.result)}</td>
            <td>
              <Wrapups items={call.dispositions} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Memos({ memos }) {
  if (!memos.length) return <p class="muted">{t('screenpop.no_memos')}</p>;
  return (
    <ul class="memos" data-testid="screen-pop-memos">
      {memos.map((memo) => (
        <li key={memo.id}>
          <div class="memo-content">{memo.content}</div>
          <div class="muted">
            {memo.author_extension
              ? t('screenpop.memo_by', {
                  author: memo.author,
                  extension: memo.author_extension,
                  time: formatDateTime(memo.created_at),
                })
              : t('screenpop.memo_by_no_ext', {
                  author: memo.author,
                  time: formatDateTime(memo.created_at),
                })}
          </div>
        </li>
      ))}
    </ul>
  );
}

function MemoForm({ number, callId, onAdded }) {
  const [content, setContent] = useState('');
  const [saved, setSaved] = useState(false);
  const { errors, formError, busy, run } = useServerErrors(['content']);
  const submit = (event) => {
    event.preventDefault();
    setSaved(false);
    run(async () => {
      const body = { content };
      if (number) body.number = number;
      if (callId) body.call_id = callId;
      await api('POST', '/api/v1/memos', body);
      setContent('');
      setSaved(true);
      onAdded();
    });
  };
  return (
    <form class="memo-form" onSubmit={submit} data-testid="memo-form">
      <Alert testId="form-error">{formError}</Alert>
      {saved && <Alert kind="ok">{t('screenpop.memo_added')}</Alert>}
      <div class="field">
        <label for="memo-content">{t('screenpop.new_memo')}</label>
        <div class="control">
          <textarea
            id="memo-content"
            name="content"
            rows={3}
            maxLength={2000}
            placeholder={t('screenpop.memo_placeholder')}
            value={content}
            disabled={busy}
            aria-invalid={errors.content ? 'true' : undefined}
            onInput={(event) => setContent(event.currentTarget.value)}
          />
          <FieldError name="content" message={errors.content} />
        </div>
      </div>
      <div class="buttons">
        <button type="submit" disabled={busy || !content.trim()}>
          {busy ? t('common.saving') : t('screenpop.add_memo')}
        </button>
      </div>
    </form>
  );
}

export function ScreenPop({ number, direction = 'inbound', queue, callId, byCall = false }) {
  const [pop, setPop] = useState(null);
  const [error, setError] = useState(null);
  const load = useCallback(async () => {
    if (!number && !byCall) return;
    // A call's pop goes by its id: the server knows whom the agent talks to, so the page
    // never needs the number unmasked (it may not have it: masked users get it masked).
    const query = byCall ? `call_id=${encodeURIComponent(callId)}` : `number=${encodeURIComponent(number)}`;
    try {
      setPop(await api('GET', `/api/v1/screenpop?${query}`));
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, [number, callId, byCall]);
  useEffect(() => {
    setPop(null);
    setError(null);
    load();
  }, [load]);

  if (!number && !byCall) return null;
  const title =
    direction === 'outbound' ? t('screenpop.title_outbound') : t('screenpop.title_inbound');
  return (
    <div class="panel screen-pop" data-testid="screen-pop" data-direction={direction}>
      <h2>
        {title}
        {queue && <span class="badge subtle"> {t('screenpop.via_queue', { queue })}</span>}
      </h2>
      <Alert testId="load-error">{error}</Alert>
      {!pop && !error && <p class="muted">{t('common.loading')}</p>}
      {pop && (
        <>
          <dl class="facts" data-testid="screen-pop-customer">
            <dt>{t('screenpop.name')}</dt>
            <dd data-field="name">{pop.known ? pop.name : t('screenpop.unknown')}</dd>
            {pop.company && (
              <>
                <dt>{t('screenpop.company')}</dt>
                <dd data-field="company">{pop.company}</dd>
              </>
            )}
            <dt>{t('screenpop.number')}</dt>
            <dd data-field="number" class="mono">
              {pop.number}
            </dd>
            {pop.note && (
              <>
                <dt>{t('screenpop.note')}</dt>
                <dd data-field="note">{pop.note}</dd>
              </>
            )}
            <dt>{t('screenpop.previous_calls')}</dt>
            <dd data-field="previous_calls">
              {t('screenpop.previous_count', { count: pop.previous_calls })}
            </dd>
          </dl>
          <h3>{t('screenpop.last_calls')}</h3>
          <LastCalls calls={pop.last_calls} />
          <h3>{t('screenpop.memos')}</h3>
          <Memos memos={pop.memos} />
          {(byCall || MEMO_NUMBER.test(number)) && (
            <MemoForm number={byCall ? null : number} callId={callId} onAdded={load} />
          )}
        </>
      )}
    </div>
  );
}
