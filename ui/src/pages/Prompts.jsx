import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { ConfirmDialog } from '../components/Dialog.jsx';
import { errorMessage, splitError } from '../components/errors.js';
import { FieldError } from '../components/Form.jsx';
import { formatBytes, formatDateTime, formatDuration } from '../format.js';
import { t } from '../i18n/index.js';

const UPLOAD_FIELDS = ['id', 'language', 'file'];

function UploadForm({ onUploaded }) {
  const [id, setId] = useState('');
  const [language, setLanguage] = useState('');
  const [file, setFile] = useState(null);
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [inputKey, setInputKey] = useState(0);

  const submit = async (event) => {
    event.preventDefault();
    setErrors({});
    setFormError(null);
    setBusy(true);
    const form = new FormData();
    form.append('id', id.trim());
    if (language) form.append('language', language);
    // sent without a file too: the server says it is required, next to the field
    if (file) form.append('file', file, file.name);
    try {
      const prompt = await api('POST', '/api/v1/prompts', form);
      setId('');
      setFile(null);
      setInputKey((key) => key + 1);
      onUploaded(prompt);
    } catch (err) {
      const split = splitError(err, UPLOAD_FIELDS);
      setErrors(split.fields);
      setFormError(split.form);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="panel upload" onSubmit={submit} novalidate data-testid="upload-form">
      <h2>{t('prompts.upload_title')}</h2>
      {formError && (
        <div class="alert error" role="alert" data-testid="form-error">
          {formError}
        </div>
      )}
      <div class="inline-fields">
        <div class="field" data-testid="field-id">
          <label for="prompt-id">{t('prompts.id')}</label>
          <div class="control">
            <input
              id="prompt-id"
              name="id"
              type="text"
              autoComplete="off"
              value={id}
              disabled={busy}
              onInput={(event) => setId(event.currentTarget.value)}
            />
            <div class="hint">{t('prompts.id_hint')}</div>
            <FieldError name="id" message={errors.id} />
          </div>
        </div>
        <div class="field" data-testid="field-language">
          <label for="prompt-language">{t('prompts.language')}</label>
          <div class="control">
            <select
              id="prompt-language"
              name="language"
              value={language}
              disabled={busy}
              onChange={(event) => setLanguage(event.currentTarget.value)}
            >
              <option value="">{t('prompts.language_all')}</option>
              <option value="zh">{t('prompts.language_zh')}</option>
              <option value="en">{t('prompts.language_en')}</option>
            </select>
            <FieldError name="language" message={errors.language} />
          </div>
        </div>
        <div class="field" data-testid="field-file">
          <span class="label">{t('prompts.file')}</span>
          <div class="control">
            <span class="file-picker">
              <input
                key={inputKey}
                id="prompt-file"
                name="file"
                type="file"
                class="visually-hidden"
                accept=".wav,audio/wav,audio/x-wav"
                disabled={busy}
                aria-invalid={errors.file ? 'true' : undefined}
                onChange={(event) => setFile(event.currentTarget.files[0] || null)}
              />
              {/* the browser's own file button speaks the browser's language, not ours */}
              <label for="prompt-file" class="button">
                {t('prompts.choose_file')}
              </label>
              <span class="file-name" data-testid="file-name">
                {file ? file.name : t('prompts.no_file')}
              </span>
            </span>
            <div class="hint">{t('prompts.file_hint')}</div>
            <FieldError name="file" message={errors.file} />
          </div>
        </div>
        <div class="field submit">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? t('prompts.uploading') : t('prompts.upload')}
          </button>
        </div>
      </div>
    </form>
  );
}

/** One player for the page: a row's button loads its prompt here (nothing preloads). */
function Player({ id, lang, onClose }) {
  return (
    <div class="panel player-bar" data-testid="player">
      <span>{t('prompts.playing', { id, language: languageName(lang) })}</span>
      <audio
        controls
        autoplay
        preload="auto"
        data-prompt={id}
        data-language={lang}
        src={`/api/v1/prompts/${seg(id)}/audio?language=${lang}`}
      />
      <button type="button" class="icon" aria-label={t('action.close')} onClick={onClose}>
        ×
      </button>
    </div>
  );
}

function languageName(code) {
  return code ? t(`prompts.language_${code}`) : t('prompts.language_all');
}

export function Prompts({ user }) {
  const [prompts, setPrompts] = useState(null);
  const [error, setError] = useState(null);
  const [notice, setNotice] = useState(null);
  const [deleting, setDeleting] = useState(null);
  const [deleteError, setDeleteError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [filter, setFilter] = useState('');
  const [playing, setPlaying] = useState(null);
  const [source, setSource] = useState('');
  const admin = user.role === 'admin';

  const load = useCallback(async () => {
    try {
      const data = await api('GET', '/api/v1/prompts');
      setPrompts(data.items);
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
      setPrompts((old) => old || []);
    }
  }, []);
  useEffect(() => {
    load();
  }, [load]);

  const remove = async () => {
    setBusy(true);
    setDeleteError(null);
    try {
      await api('DELETE', `/api/v1/prompts/${seg(deleting.id)}`);
      setNotice(t('prompts.deleted', { id: deleting.id }));
      setDeleting(null);
      load();
    } catch (err) {
      setDeleteError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const needle = filter.trim().toLowerCase();
  const shown = (prompts || []).filter(
    (prompt) => (!needle || prompt.id.includes(needle)) && (!source || prompt.source === source),
  );
  return (
    <section class="page" data-page="prompts">
      <header class="page-head">
        <h1>{t('prompts.title')}</h1>
        <div class="toolbar">
          <select
            aria-label={t('prompts.source')}
            data-testid="source-filter"
            value={source}
            onChange={(event) => setSource(event.currentTarget.value)}
          >
            <option value="">{t('prompts.source_any')}</option>
            <option value="upload">{t('prompts.source_upload')}</option>
            <option value="system">{t('prompts.source_system')}</option>
          </select>
          <input
            type="search"
            class="filter"
            placeholder={t('common.filter')}
            aria-label={t('common.filter')}
            value={filter}
            onInput={(event) => setFilter(event.currentTarget.value)}
          />
          <button type="button" onClick={load}>
            {t('action.refresh')}
          </button>
        </div>
      </header>
      {admin && (
        <UploadForm
          onUploaded={(prompt) => {
            setNotice(t('prompts.uploaded', { id: prompt.id }));
            load();
          }}
        />
      )}
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
      {playing && (
        <Player
          id={playing.id}
          lang={playing.lang}
          onClose={() => setPlaying(null)}
        />
      )}
      <table class="grid">
        <thead>
          <tr>
            <th>{t('prompts.id')}</th>
            <th>{t('prompts.source')}</th>
            <th>{t('prompts.languages')}</th>
            <th class="num">{t('prompts.duration')}</th>
            <th class="num">{t('prompts.size')}</th>
            <th>{t('prompts.modified')}</th>
            <th>{t('prompts.listen')}</th>
            <th class="actions">{t('common.actions')}</th>
          </tr>
        </thead>
        <tbody>
          {prompts === null && (
            <tr>
              <td colSpan={8} class="empty">
                {t('common.loading')}
              </td>
            </tr>
          )}
          {prompts !== null && shown.length === 0 && (
            <tr>
              <td colSpan={8} class="empty">
                {t('common.none')}
              </td>
            </tr>
          )}
          {shown.map((prompt) => (
            <tr key={prompt.id} data-id={prompt.id}>
              <td class="mono">{prompt.id}</td>
              <td>
                {t(`prompts.source_${prompt.source}`)}
                {prompt.overrides_system && (
                  <span class="badge subtle">{t('prompts.overrides_system')}</span>
                )}
              </td>
              <td class="nowrap">{prompt.languages.map(languageName).join(', ') || '—'}</td>
              <td class="num">{prompt.duration === null ? '—' : formatDuration(prompt.duration)}</td>
              <td class="num nowrap">{formatBytes(prompt.size)}</td>
              <td class="nowrap">{formatDateTime(prompt.modified)}</td>
              <td class="players">
                {prompt.languages.map((lang) => (
                  <button
                    type="button"
                    class="small"
                    key={lang}
                    data-play={`${prompt.id}:${lang}`}
                    aria-pressed={playing && playing.id === prompt.id && playing.lang === lang}
                    onClick={() => setPlaying({ id: prompt.id, lang })}
                  >
                    ▶ {languageName(lang)}
                  </button>
                ))}
              </td>
              <td class="actions">
                {admin && prompt.source === 'upload' && (
                  <button
                    type="button"
                    class="link danger"
                    onClick={() => {
                      setDeleteError(null);
                      setDeleting(prompt);
                    }}
                  >
                    {prompt.system ? t('prompts.restore_system') : t('action.delete')}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {deleting && (
        <ConfirmDialog
          title={t('prompts.delete_title')}
          message={t(deleting.system ? 'prompts.restore_confirm' : 'prompts.delete_confirm', {
            id: deleting.id,
          })}
          busy={busy}
          error={deleteError}
          onConfirm={remove}
          onClose={() => setDeleting(null)}
        />
      )}
    </section>
  );
}
