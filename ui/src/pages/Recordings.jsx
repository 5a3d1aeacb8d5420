// Recordings (录音): search, play in the page, download one or many as a zip, notes (批注),
// delete. The API decides who sees what: agents get the calls they took part in only.
import { useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { ConfirmDialog, useConfirm } from '../components/Dialog.jsx';
import { errorMessage } from '../components/errors.js';
import { FieldError } from '../components/Form.jsx';
import { Alert, EmptyRow, PageHead } from '../components/Page.jsx';
import { PlayerBar, recordingAudioUrl } from '../components/Player.jsx';
import {
  daysAgo,
  DownloadLink,
  localDate,
  Pager,
  queryString,
  SearchForm,
  useSearch,
} from '../components/Search.jsx';
import { formatBytes, formatDateTime, formatDuration } from '../format.js';
import { t } from '../i18n/index.js';

const PAGE_SIZE = 50;
const MAX_ARCHIVE = 500; // the API's limit for one zip

const FIELDS = [
  { name: 'from', label: 'search.from', type: 'date' },
  { name: 'to', label: 'search.to', type: 'date', lastDay: true },
  { name: 'party', label: 'recordings.party', type: 'text', placeholder: '1001' },
  { name: 'agent', label: 'recordings.agent', type: 'text' },
  { name: 'queue', label: 'recordings.queue', type: 'text' },
  { name: 'text', label: 'recordings.note_text', type: 'text' },
];

function defaults() {
  return { from: daysAgo(6), to: localDate(), party: '', agent: '', queue: '', text: '' };
}

function audioUrl(recording) {
  return recording.audio || recordingAudioUrl(recording.id);
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
  const [selected, setSelected] = useState(() => new Set());
  const [playing, setPlaying] = useState(null);
  const [notice, setNotice] = useState(null);
  const admin = user.role === 'admin';
  const annotate = admin || user.role === 'supervisor';
  const search = useSearch({
    fields: FIELDS,
    initial: defaults,
    path: '/api/v1/recordings',
    pageSize: PAGE_SIZE,
    empty: { items: [], total: 0 },
  });
  const { result, applied, offset } = search;

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
    search.setResult((old) => ({
      ...old,
      items: old.items.map((item) => (item.id === saved.id ? saved : item)),
    }));

  const deletion = useConfirm(async (recording) => {
    await api('DELETE', `/api/v1/recordings/${seg(recording.id)}`);
    setNotice(t('recordings.deleted', { id: recording.id }));
    if (playing && playing.id === recording.id) setPlaying(null);
    setSelected((old) => {
      const next = new Set(old);
      next.delete(recording.id);
      return next;
    });
    search.load(applied, items.length === 1 && offset > 0 ? offset - PAGE_SIZE : offset);
  });

  const selectedIds = [...selected];
  const archiveOfSelection = `/api/v1/recordings/archive${queryString({ id: selectedIds })}`;
  const archiveOfSearch = `/api/v1/recordings/archive${queryString(applied)}`;
  const columns = 10;
  return (
    <section class="page" data-page="recordings">
      <PageHead title={t('recordings.title')} />
      <SearchForm
        id="rec"
        {...search.form}
        onSubmit={() => {
          setSelected(new Set());
          setNotice(null);
          search.form.onSubmit();
        }}
        onReset={() => {
          setSelected(new Set());
          search.form.onReset();
        }}
      />
      <Alert kind="ok">{notice}</Alert>
      <Alert testId="load-error">{search.error}</Alert>
      {playing && (
        <PlayerBar
          testId="recording-player"
          caption={t('recordings.playing', {
            caller: playing.caller,
            callee: playing.callee,
            time: formatDateTime(playing.start),
          })}
          src={audioUrl(playing)}
          audio={{ 'data-recording': playing.id }}
          onClose={() => setPlaying(null)}
        />
      )}
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
          <EmptyRow columns={columns} rows={result && items} emptyText={t('recordings.none')} />
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
                      href={audioUrl(recording)}
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
                  <button type="button" class="link danger" onClick={() => deletion.ask(recording)}>
                    {t('action.delete')}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager {...search.pager} />
      {deletion.pending && (
        <ConfirmDialog
          title={t('recordings.delete_title')}
          message={t('recordings.delete_confirm', {
            caller: deletion.pending.caller,
            callee: deletion.pending.callee,
            time: formatDateTime(deletion.pending.start),
          })}
          {...deletion.dialog}
        />
      )}
    </section>
  );
}
