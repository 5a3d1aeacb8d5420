// Recordings (录音): search, play in the page, download one or many as a zip, notes (批注),
// delete. The API decides who sees what: agents get the calls they took part in only.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { ConfirmDialog } from '../components/Dialog.jsx';
import { errorMessage, splitError } from '../components/errors.js';
import { FieldError } from '../components/Form.jsx';
import {
  dayStart,
  daysAgo,
  DownloadLink,
  localDate,
  Pager,
  queryString,
  SearchForm,
} from '../components/Search.jsx';
import { formatBytes, formatDateTime, formatDuration } from '../format.js';
import { t } from '../i18n/index.js';

export const PAGE_SIZE = 50;
export const MAX_ARCHIVE = 500; // the API's limit for one zip

const FIELDS = [
  { name: 'from', label: 'search.from', type: 'date' },
  { name: 'to', label: 'search.to', type: 'date' },
  { name: 'party', label: 'recordings.party', type: 'text', placeholder: '1001' },
  { name: 'agent', label: 'recordings.agent', type: 'text' },
  { name: 'queue', label: 'recordings.queue', type: 'text' },
  { name: 'text', label: 'recordings.note_text', type: 'text' },
];
const FIELD_NAMES = FIELDS.map((field) => field.name);

function defaults() {
  return { from: daysAgo(6), to: localDate(), party: '', agent: '', queue: '', text: '' };
}

/** The API's search parameters for the form values (dates: local days, `to` included). */
export function searchQuery(values) {
  return {
    from: dayStart(values.from),
    to: dayStart(values.to, 1),
    party: values.party,
    agent: values.agent,
    queue: values.queue,
    text: values.text,
  };
}

function Player({ recording, onClose }) {
  const audio = useRef(null);
  useEffect(() => {
    // the one <audio> of the page gets the new source: start it (autoplay covers the first)
    const element = audio.current;
    if (element && element.paused) element.play().catch(() => {});
  }, [recording.id]);
  return (
    <div class="panel player-bar" data-testid="recording-player">
      <span class="nowrap">
        {t('recordings.playing', {
          caller: recording.caller,
          callee: recording.callee,
          time: formatDateTime(recording.start),
        })}
      </span>
      <audio
        ref={audio}
        controls
        autoplay
        preload="auto"
        data-recording={recording.id}
        src={recording.audio || `/api/v1/recordings/${seg(recording.id)}/audio`}
      />
      <button type="button" class="icon" aria-label={t('action.close')} onClick={onClose}>
        ×
      </button>
    </div>
  );
}

/** The note of a recording, edited in place by admins and supervisors. */
function NoteCell({ recording, editable, onSaved }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(recording.note || '');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const save = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSaved(await api('PUT', `/api/v1/recordings/${seg(recording.id)}`, { note: text }));
      setEditing(false);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  if (!editing) {
    return (
      <div class="note-cell">
        <span class="note-text" data-testid="note">
          {recording.note || '—'}
        </span>
        {editable && (
          <button
            type="button"
            class="link"
            data-testid="edit-note"
            onClick={() => {
              setText(recording.note || '');
              setError(null);
              setEditing(true);
            }}
          >
            {t('recordings.edit_note')}
          </button>
        )}
      </div>
    );
  }
  return (
    <form class="note-editor" onSubmit={save} novalidate data-testid="note-editor">
      <textarea
        rows={2}
        name="note"
        aria-label={t('recordings.note')}
        aria-invalid={error ? 'true' : undefined}
        value={text}
        disabled={busy}
        onInput={(event) => setText(event.currentTarget.value)}
        onKeyDown={(event) => {
          if (event.key === 'Escape') setEditing(false);
        }}
      />
      <FieldError name="note" message={error} />
      <div class="buttons">
        <button type="submit" class="small primary" disabled={busy}>
          {busy ? t('common.saving') : t('action.save')}
        </button>
        <button type="button" class="small" disabled={busy} onClick={() => setEditing(false)}>
          {t('action.cancel')}
        </button>
      </div>
    </form>
  );
}

export function Recordings({ user }) {
  const [values, setValues] = useState(defaults);
  const [applied, setApplied] = useState(() => searchQuery(defaults()));
  const [offset, setOffset] = useState(0);
  const [result, setResult] = useState(null); // {items, total}
  const [error, setError] = useState(null);
  const [fieldErrors, setFieldErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState(() => new Set());
  const [playing, setPlaying] = useState(null);
  const [deleting, setDeleting] = useState(null);
  const [deleteError, setDeleteError] = useState(null);
  const [deleteBusy, setDeleteBusy] = useState(false);
  const [notice, setNotice] = useState(null);
  const admin = user.role === 'admin';
  const annotate = admin || user.role === 'supervisor';

  const load = async (query, at) => {
    setBusy(true);
    try {
      const data = await api(
        'GET',
        `/api/v1/recordings${queryString({ ...query, limit: PAGE_SIZE, offset: at })}`,
      );
      setResult({ items: data.items, total: data.total });
      setApplied(query);
      setOffset(at);
      setError(null);
      setFieldErrors({});
    } catch (err) {
      const split = splitError(err, FIELD_NAMES);
      setFieldErrors(split.fields);
      setError(split.form);
      setResult((old) => old || { items: [], total: 0 });
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    load(applied, 0);
  }, []);

  const search = () => {
    setSelected(new Set());
    setNotice(null);
    load(searchQuery(values), 0);
  };
  const reset = () => {
    const fresh = defaults();
    setValues(fresh);
    setSelected(new Set());
    load(searchQuery(fresh), 0);
  };

  const items = result ? result.items : [];
  const total = result ? result.total : 0;
  const pageIds = items.map((item) => item.id);
  const allOnPage = pageIds.length > 0 && pageIds.every((id) => selected.has(id));
  const toggle = (id) =>
    setSelected((old) => {
      const next = new Set(old);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const togglePage = () =>
    setSelected((old) => {
      const next = new Set(old);
      for (const id of pageIds) {
        if (allOnPage) next.delete(id);
        else next.add(id);
      }
      return next;
    });
  const replace = (saved) =>
    setResult((old) => ({
      ...old,
      items: old.items.map((item) => (item.id === saved.id ? saved : item)),
    }));

  const remove = async () => {
    setDeleteBusy(true);
    setDeleteError(null);
    try {
      await api('DELETE', `/api/v1/recordings/${seg(deleting.id)}`);
      setNotice(t('recordings.deleted', { id: deleting.id }));
      if (playing && playing.id === deleting.id) setPlaying(null);
      setSelected((old) => {
        const next = new Set(old);
        next.delete(deleting.id);
        return next;
      });
      setDeleting(null);
      load(applied, items.length === 1 && offset > 0 ? offset - PAGE_SIZE : offset);
    } catch (err) {
      setDeleteError(errorMessage(err));
    } finally {
      setDeleteBusy(false);
    }
  };

  const selectedIds = [...selected];
  const archiveOfSelection = `/api/v1/recordings/archive${queryString({ id: selectedIds })}`;
  const archiveOfSearch = `/api/v1/recordings/archive${queryString(applied)}`;
  const columns = 10;
  return (
    <section class="page" data-page="recordings">
      <header class="page-head">
        <h1>{t('recordings.title')}</h1>
      </header>
      <SearchForm
        id="rec"
        fields={FIELDS}
        values={values}
        errors={fieldErrors}
        busy={busy}
        onChange={(name, value) => setValues((old) => ({ ...old, [name]: value }))}
        onSubmit={search}
        onReset={reset}
      />
      {notice && (
        <div class="alert ok" role="status">
          {notice}
        </div>
      )}
      {error && (
        <div class="alert error" role="alert" data-testid="load-error">
          {error}
        </div>
      )}
      {playing && <Player recording={playing} onClose={() => setPlaying(null)} />}
      <div class="result-bar">
        <span class="muted" data-testid="result-total">
          {result ? t('recordings.found', { total }) : ''}
        </span>
        <span class="spacer" />
        <span class="muted">{t('recordings.selected', { count: selected.size })}</span>
        <DownloadLink
          href={archiveOfSelection}
          label={t('recordings.download_selected')}
          testId="download-selected"
          disabled={selected.size === 0 || selected.size > MAX_ARCHIVE}
          title={selected.size > MAX_ARCHIVE ? t('recordings.too_many', { max: MAX_ARCHIVE }) : undefined}
        />
        <DownloadLink
          href={archiveOfSearch}
          label={t('recordings.download_all', { total })}
          testId="download-all"
          disabled={total === 0 || total > MAX_ARCHIVE}
          title={
            total > MAX_ARCHIVE
              ? t('recordings.too_many', { max: MAX_ARCHIVE })
              : t('recordings.download_all_hint')
          }
        />
      </div>
      {total > MAX_ARCHIVE && (
        <p class="hint" data-testid="too-many">
          {t('recordings.too_many', { max: MAX_ARCHIVE })}
        </p>
      )}
      <table class="grid">
        <thead>
          <tr>
            <th class="check">
              <input
                type="checkbox"
                aria-label={t('recordings.select_page')}
                data-testid="select-page"
                checked={allOnPage}
                disabled={pageIds.length === 0}
                onChange={togglePage}
              />
            </th>
            <th>{t('recordings.start')}</th>
            <th>{t('recordings.caller')}</th>
            <th>{t('recordings.callee')}</th>
            <th>{t('recordings.queue')}</th>
            <th>{t('recordings.agent')}</th>
            <th class="num">{t('recordings.duration')}</th>
            <th class="num">{t('recordings.size')}</th>
            <th>{t('recordings.note')}</th>
            <th class="actions">{t('common.actions')}</th>
          </tr>
        </thead>
        <tbody>
          {result === null && (
            <tr>
              <td colSpan={columns} class="empty">
                {t('common.loading')}
              </td>
            </tr>
          )}
          {result !== null && items.length === 0 && (
            <tr>
              <td colSpan={columns} class="empty">
                {t('recordings.none')}
              </td>
            </tr>
          )}
          {items.map((recording) => (
            <tr
              key={recording.id}
              data-id={recording.id}
              class={playing && playing.id === recording.id ? 'current' : undefined}
            >
              <td class="check">
                <input
                  type="checkbox"
                  aria-label={t('recordings.select_row', { id: recording.id })}
                  checked={selected.has(recording.id)}
                  onChange={() => toggle(recording.id)}
                />
              </td>
              <td class="nowrap">{formatDateTime(recording.start)}</td>
              <td class="nowrap">{recording.caller}</td>
              <td class="nowrap">{recording.callee}</td>
              <td>{recording.queue || '—'}</td>
              <td>{recording.agent || '—'}</td>
              <td class="num">{formatDuration(recording.duration)}</td>
              <td class="num nowrap">{formatBytes(recording.size)}</td>
              <td class="note">
                <NoteCell
                  key={`${recording.id}:${recording.note}`}
                  recording={recording}
                  editable={annotate}
                  onSaved={replace}
                />
              </td>
              <td class="actions">
                {recording.available ? (
                  <>
                    <button
                      type="button"
                      class="small"
                      data-play={recording.id}
                      aria-pressed={playing && playing.id === recording.id}
                      onClick={() => setPlaying(recording)}
                    >
                      ▶ {t('recordings.play')}
                    </button>
                    <a
                      class="button small"
                      href={recording.audio || `/api/v1/recordings/${seg(recording.id)}/audio`}
                      download
                      data-download={recording.id}
                    >
                      {t('recordings.download')}
                    </a>
                  </>
                ) : (
                  <span class="badge subtle">{t('recordings.missing')}</span>
                )}
                {admin && (
                  <button
                    type="button"
                    class="link danger"
                    onClick={() => {
                      setDeleteError(null);
                      setDeleting(recording);
                    }}
                  >
                    {t('action.delete')}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager
        offset={offset}
        limit={PAGE_SIZE}
        count={items.length}
        total={total}
        busy={busy}
        onPage={(at) => load(applied, at)}
      />
      {deleting && (
        <ConfirmDialog
          title={t('recordings.delete_title')}
          message={t('recordings.delete_confirm', {
            caller: deleting.caller,
            callee: deleting.callee,
            time: formatDateTime(deleting.start),
          })}
          busy={deleteBusy}
          error={deleteError}
          onConfirm={remove}
          onClose={() => setDeleting(null)}
        />
      )}
    </section>
  );
}
