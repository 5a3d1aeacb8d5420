import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../i18n/index.js';
import { errorMessage } from './errors.js';
import { Alert } from './Page.jsx';

/** A modal panel: Escape or the close button calls onClose; the first field gets focus. */
export function Dialog({ title, onClose, children, footer, wide, testId }) {
  const panel = useRef(null);
  useEffect(() => {
    const onKey = (event) => {
      if (event.key === 'Escape') onClose();
    };
    document.addEventListener('keydown', onKey);
    const first = panel.current && panel.current.querySelector('input, select, textarea, button');
    if (first) first.focus();
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  return (
    <div class="backdrop">
      <div
        class={wide ? 'dialog wide' : 'dialog'}
        role="dialog"
        aria-modal="true"
        aria-label={title}
        data-testid={testId}
        ref={panel}
      >
        <header class="dialog-head">
          <h2>{title}</h2>
          <button type="button" class="icon" aria-label={t('action.close')} onClick={onClose}>
            ×
          </button>
        </header>
        <div class="dialog-body">{children}</div>
        {footer && <footer class="dialog-foot">{footer}</footer>}
      </div>
    </div>
  );
}

/** "Really delete X?" with a red confirm button; `busy` disables both buttons. */
export function ConfirmDialog({ title, message, confirmLabel, onConfirm, onClose, busy, error }) {
  return (
    <Dialog
      title={title}
      onClose={onClose}
      testId="confirm-dialog"
      footer={
        <>
          <button type="button" onClick={onClose} disabled={busy}>
            {t('action.cancel')}
          </button>
          <button type="button" class="danger" onClick={onConfirm} disabled={busy}>
            {confirmLabel || t('action.delete')}
          </button>
        </>
      }
    >
      <p>{message}</p>
      <Alert>{error}</Alert>
    </Dialog>
  );
}

/**
 * "Really delete?" for one record at a time. ask(record) opens the question (`pending` is the
 * record asked about); on confirm `action(record)` runs, and its error stays in the dialog.
 * `dialog` holds ConfirmDialog's busy, error, onConfirm and onClose.
 */
export function useConfirm(action) {
  const [pending, setPending] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await action(pending);
      setPending(null);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const ask = (record) => {
    setError(null);
    setPending(record);
  };
  const close = () => setPending(null);
  return { pending, ask, dialog: { busy, error, onConfirm: confirm, onClose: close } };
}
