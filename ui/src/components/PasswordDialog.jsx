import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { t } from '../i18n/index.js';
import { Dialog } from './Dialog.jsx';
import { splitError } from './errors.js';
import { FieldError } from './Form.jsx';

const FIELDS = ['old_password', 'new_password'];

export function PasswordDialog({ onClose, onChanged }) {
  const [values, setValues] = useState({ old_password: '', new_password: '', confirm: '' });
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event) => {
    event.preventDefault();
    setErrors({});
    setFormError(null);
    if (values.new_password !== values.confirm) {
      setErrors({ confirm: t('password.mismatch') });
      return;
    }
    setBusy(true);
    try {
      await api('PUT', '/api/v1/users/me/password', {
        old_password: values.old_password,
        new_password: values.new_password,
      });
      onChanged();
    } catch (err) {
      const split = splitError(err, FIELDS);
      setErrors(split.fields);
      setFormError(split.form);
      setBusy(false);
    }
  };
  const input = (name, label, autoComplete) => (
    <div class="field" data-testid={`field-${name}`}>
      <label for={`pw-${name}`}>{t(label)}</label>
      <div class="control">
        <input
          id={`pw-${name}`}
          name={name}
          type="password"
          autoComplete={autoComplete}
          value={values[name]}
          disabled={busy}
          onInput={(event) => {
            const value = event.currentTarget.value;
            setValues((old) => ({ ...old, [name]: value }));
          }}
        />
        <FieldError name={name} message={errors[name]} />
      </div>
    </div>
  );
  return (
    <Dialog
      title={t('password.title')}
      onClose={onClose}
      testId="password-dialog"
      footer={
        <>
          <button type="button" onClick={onClose}>
            {t('action.cancel')}
          </button>
          <button type="submit" form="password-form" class="primary" disabled={busy}>
            {t('password.submit')}
          </button>
        </>
      }
    >
      <form id="password-form" onSubmit={submit} novalidate>
        {formError && (
          <div class="alert error" role="alert">
            {formError}
          </div>
        )}
        <fieldset class="form-grid single">
          {input('old_password', 'password.old', 'current-password')}
          {input('new_password', 'password.new', 'new-password')}
          {input('confirm', 'password.confirm', 'new-password')}
        </fieldset>
      </form>
    </Dialog>
  );
}
