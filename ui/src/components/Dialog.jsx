import { useEffect, useRef } from 'preact/hooks';
import { t } from '../i18n/index.js';

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
      {error && (
        <p class="alert error" role="alert">
          {error}
        </p>
      )}
    </Dialog>
  );
}
