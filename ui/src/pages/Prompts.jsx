// Voice prompts (语音提示): the system's and uploaded ones, each in one or more languages;
// listen in the page, upload a WAV (admins), delete an upload (which brings back a system
// prompt it replaced).
import { useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { ConfirmDialog, useConfirm } from '../components/Dialog.jsx';
import { Field, FieldError, useServerErrors } from '../components/Form.jsx';
import { Alert, EmptyRow, FilterInput, matchesFilter, PageHead } from '../components/Page.jsx';
import { PlayerBar, promptAudioUrl } from '../components/Player.jsx';
import { formatBytes, formatDateTime, formatDuration } from '../format.js';
import { useList } from '../hooks.js';
import { t } from '../i18n/index.js';

const ID_FIELD = { name: 'id', label: 'prompts.id', type: 'text', hint: 'prompts.id_hint' };
const LANGUAGE_FIELD = {
  name: 'language',
  label: 'prompts.language',
  type: 'select',
  options: () => [
    { value: '', label: t('prompts.language_all') },
    { value: 'zh', label: t('prompts.language_zh') },
    { value: 'en', label: t('prompts.language_en') },
  ],
};

function UploadForm({ onUploaded }) {
  const [id, setId] = useState('');
  const [language, setLanguage] = useState('');
  const [file, setFile] = useState(null);
  const [inputKey, setInputKey] = useState(0);
  const { errors, formError, busy, run } = useServerErrors(['id', 'language', 'file']);

  const submit = (event) => {
    event.preventDefault();
    run(async () => {
      const form = new FormData();
      form.append('id', id.trim());
      if (language) form.append('language', language);
      // sent without a file too: the server says it is required, next to the field
      if (file) form.append('file', file, file.name);
      const prompt = await api('POST', '/api/v1/prompts', form);
      setId('');
      setFile(null);
      setInputKey((key) => key + 1);
      onUploaded(prompt);
    });
  };

  const field = (spec, value, onChange) => (
    <Field
      field={spec}
      idPrefix="prompt"
      value={value}
      error={errors[spec.name]}
      disabled={busy}
      onChange={onChange}
    />
  );
  return (
    <form class="panel upload" onSubmit={submit} novalidate data-testid="upload-form">
      <h2>{t('prompts.upload_title')}</h2>
      <Alert testId="form-error">{formError}</Alert>
      <div class="inline-fields">
        {field(ID_FIELD, id, setId)}
        {field(LANGUAGE_FIELD, language, setLanguage)}
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

function languageName(code) {
  return code ? t(`prompts.language_${code}`) : t('prompts.language_all');
}

export function Prompts({ user }) {
  const { items: prompts, error, load } = useList('/api/v1/prompts');
  const [notice, setNotice] = useState(null);
  const [filter, setFilter] = useState('');
  const [playing, setPlaying] = useState(null);
  const [source, setSource] = useState('');
  const admin = user.role === 'admin';
  const deletion = useConfirm(async (prompt) => {
    await api('DELETE', `/api/v1/prompts/${seg(prompt.id)}`);
    setNotice(t('prompts.deleted', { id: prompt.id }));
    load();
  });

  const shown = (prompts || []).filter(
    (prompt) => matchesFilter(filter, [prompt.id]) && (!source || prompt.source === source),
  );
  return (
    <section class="page" data-page="prompts">
      <PageHead title={t('prompts.title')}>
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
        <FilterInput value={filter} onChange={setFilter} />
        <button type="button" onClick={load}>
          {t('action.refresh')}
        </button>
      </PageHead>
      {admin && (
        <UploadForm
          onUploaded={(prompt) => {
            setNotice(t('prompts.uploaded', { id: prompt.id }));
            load();
          }}
        />
      )}
      <Alert kind="ok">{notice}</Alert>
      <Alert testId="load-error">{error}</Alert>
      {playing && (
        <PlayerBar
          testId="player"
          caption={t('prompts.playing', { id: playing.id, language: languageName(playing.lang) })}
          src={promptAudioUrl(playing.id, playing.lang)}
          audio={{ 'data-prompt': playing.id, 'data-language': playing.lang }}
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
          <EmptyRow columns={8} rows={prompts && shown} emptyText={t('common.none')} />
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
                  <button type="button" class="link danger" onClick={() => deletion.ask(prompt)}>
                    {prompt.system ? t('prompts.restore_system') : t('action.delete')}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {deletion.pending && (
        <ConfirmDialog
          title={t('prompts.delete_title')}
          message={t(
            deletion.pending.system ? 'prompts.restore_confirm' : 'prompts.delete_confirm',
            { id: deletion.pending.id },
          )}
          {...deletion.dialog}
        />
      )}
    </section>
  );
}
