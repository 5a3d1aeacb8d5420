import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { t } from '../i18n/index.js';
import { Dialog } from './Dialog.jsx';
import { FormFields, useServerErrors } from './Form.jsx';
import { Alert } from './Page.jsx';

const FIELDS = [
  {
    name: 'old_password',
    label: 'password.old',
    type: 'password',
    autoComplete: 'current-password',
  },
  { name: 'new_password', label: 'password.new', type: 'password', autoComplete: 'new-password' },
  // checked here against the new password, not sent
  { name: 'confirm', label: 'password.confirm', type: 'password', autoComplete: 'new-password' },
];

export function PasswordDialog({ onClose, onChanged }) {
  const [values, setValues] = useState({ old_password: '', new_password: '', confirm: '' });
  const { errors, formError, busy, run, showErrors } = useServerErrors([
    'old_password',
    'new_password',
  ]);

  const submit = (event) => {
    event.preventDefault();
    if (values.new_password !== values.confirm) {
      showErrors({ confirm: t('password.mismatch') });
      return;
    }
    run(async () => {
      await api('PUT', '/api/v1/users/me/password', {
        old_password: values.old_password,
        new_password: values.new_password,
      });
      onChanged();
    });
  };
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
        <Alert>{formError}</Alert>
        <FormFields
          idPrefix="pw"
          fields={FIELDS}
          values={values}
          errors={errors}
          disabled={busy}
          onChange={(name, value) => setValues((old) => ({ ...old, [name]: value }))}
        />
      </form>
    </Dialog>
  );
}
