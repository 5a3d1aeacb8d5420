// System (系统, admins): the device (host name, firmware, time, uptime, network), live figures
// (registrations, calls; every 5 s), and the configuration's backup and restore. A restore
// ends every session on the device, this one too: the console then shows the login page.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ConfirmDialog } from '../components/Dialog.jsx';
import { errorMessage } from '../components/errors.js';
import { FieldError } from '../components/Form.jsx';
import { Alert, EmptyRow, PageHead } from '../components/Page.jsx';
import { formatBytes, formatDateTime, formatDuration } from '../format.js';
import { useRefresh } from '../hooks.js';
import { t } from '../i18n/index.js';

const STATUS_REFRESH_MS = 5000;

/** 93784 s -> "1 天 2:03:04" / "1 d 2:03:04". */
function formatUptime(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const days = Math.floor(seconds / 86400);
  const rest = formatDuration(seconds - days * 86400);
  return days ? t('system.uptime_days', { days, time: rest }) : rest;
}

function Info() {
  const [info, setInfo] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api('GET', '/api/v1/system/info')
      .then(setInfo)
      .catch((err) => setError(errorMessage(err)));
  }, []);
  return (
    <div class="panel" data-testid="system-info">
      <h2>{t('system.info_title')}</h2>
      <Alert testId="load-error">{error}</Alert>
      {!info && !error && <p class="muted">{t('common.loading')}</p>}
      {info && (
        <>
          <dl class="facts">
            <dt>{t('system.hostname')}</dt>
            <dd data-field="hostname">{info.hostname}</dd>
            <dt>{t('system.firmware')}</dt>
            <dd data-field="firmware">{info.firmware}</dd>
            <dt>{t('system.time')}</dt>
            <dd data-field="time">
              {formatDateTime(info.time)}
              {info.timezone ? ` (${t('system.device_timezone', { zone: info.timezone })})` : ''}
            </dd>
            <dt>{t('system.uptime')}</dt>
            <dd data-field="uptime">{formatUptime(info.uptime)}</dd>
          </dl>
          <h2 class="sub">{t('system.interfaces')}</h2>
          <table class="grid compact" data-testid="interfaces">
            <thead>
              <tr>
                <th>{t('system.interface')}</th>
                <th>{t('system.state')}</th>
                <th>{t('system.mac')}</th>
                <th>{t('system.addresses')}</th>
              </tr>
            </thead>
            <tbody>
              <EmptyRow columns={4} rows={info.interfaces} emptyText={t('system.no_interfaces')} />
              {info.interfaces.map((link) => (
                <tr key={link.name} data-id={link.name}>
                  <td class="mono">{link.name}</td>
                  <td>{link.state}</td>
                  <td class="mono">{link.mac}</td>
                  <td class="mono">
                    {(link.addresses || []).length === 0
                      ? '—'
                      : link.addresses.map((address) => <div key={address}>{address}</div>)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

function Figure({ name, label, value }) {
  return (
    <div class="figure" data-figure={name}>
      <div class="figure-value">{value === null || value === undefined ? '—' : value}</div>
      <div class="figure-label">{label}</div>
    </div>
  );
}

function Status({ paused }) {
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);
  const [updated, setUpdated] = useState(null);
  const load = useCallback(async () => {
    if (paused.current) return;
    try {
      const data = await api('GET', '/api/v1/system/status');
      setStatus(data);
      setUpdated(new Date());
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, []);
  useRefresh(load, STATUS_REFRESH_MS);
  const media = (status && status.media) || {};
  return (
    <div class="panel" data-testid="system-status">
      <h2>{t('system.status_title')}</h2>
      <Alert>{error}</Alert>
      <div class="figures">
        <Figure
          name="registrations"
          label={t('system.registrations')}
          value={status && status.registrations}
        />
        <Figure name="active_calls" label={t('system.active_calls')} value={status && status.active_calls} />
        <Figure name="rtp_ports" label={t('system.rtp_ports')} value={media.rtp_ports_in_use} />
        <Figure
          name="media_load"
          label={t('system.media_load')}
          value={typeof media.load === 'number' ? `${Math.round(media.load * 100)}%` : null}
        />
      </div>
      <Alert>{media.overloaded && t('system.overloaded')}</Alert>
      <p class="muted" data-testid="status-updated">
        {updated ? t('system.updated', { time: formatDateTime(updated) }) : ''}
      </p>
    </div>
  );
}

function Backup({ paused, onSessionEnded }) {
  const [file, setFile] = useState(null);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [fileError, setFileError] = useState(null);

  const restore = async () => {
    setBusy(true);
    setError(null);
    paused.current = true; // no status call may meet the revoked session before we leave
    try {
      // the file itself is the body, as application/zip (the browser may call it otherwise)
      const result = await api(
        'POST',
        '/api/v1/system/restore',
        new Blob([file], { type: 'application/zip' }),
      );
      const notice = t('system.restored', {
        tables: Object.keys(result.restored || {}).length,
        prompts: result.prompts,
      });
      if (onSessionEnded) onSessionEnded(notice);
    } catch (err) {
      paused.current = false;
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <div class="panel" data-testid="backup-restore">
      <h2>{t('system.backup_title')}</h2>
      <p class="hint">{t('system.backup_hint')}</p>
      <p>
        <a class="button primary" href="/api/v1/system/backup" download data-testid="backup">
          {t('system.backup')}
        </a>
      </p>
      <h2 class="sub">{t('system.restore_title')}</h2>
      <p class="hint">{t('system.restore_hint')}</p>
      <div class="file-picker">
        <input
          id="restore-file"
          name="file"
          type="file"
          class="visually-hidden"
          accept=".zip,application/zip"
          disabled={busy}
          aria-invalid={fileError ? 'true' : undefined}
          onChange={(event) => {
            setFile(event.currentTarget.files[0] || null);
            setFileError(null);
            setError(null);
          }}
        />
        <label for="restore-file" class="button">
          {t('system.choose_backup')}
        </label>
        <span class="file-name" data-testid="file-name">
          {file ? `${file.name} (${formatBytes(file.size)})` : t('system.no_file')}
        </span>
        <button
          type="button"
          class="danger"
          data-testid="restore"
          disabled={busy}
          onClick={() => {
            if (!file) {
              setFileError(t('system.no_backup_chosen'));
              return;
            }
            setConfirming(true);
          }}
        >
          {busy ? t('system.restoring') : t('system.restore')}
        </button>
      </div>
      <FieldError name="file" message={fileError} />
      <Alert testId="restore-error">{!confirming && error}</Alert>
      {confirming && (
        <ConfirmDialog
          title={t('system.restore_title')}
          message={t('system.restore_confirm', { name: file ? file.name : '' })}
          confirmLabel={t('system.restore')}
          busy={busy}
          error={error}
          onConfirm={restore}
          onClose={() => setConfirming(false)}
        />
      )}
    </div>
  );
}

export function System({ onSessionEnded }) {
  const paused = useRef(false);
  return (
    <section class="page" data-page="system">
      <PageHead title={t('system.title')} />
      <div class="system-grid">
        <Info />
        <div class="system-side">
          <Status paused={paused} />
          <Backup paused={paused} onSessionEnded={onSessionEnded} />
        </div>
      </div>
    </section>
  );
}
