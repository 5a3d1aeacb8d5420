import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { t } from '../i18n/index.js';
import { FieldError, useServerErrors } from './Form.jsx';
import { LanguageSwitch } from './LanguageSwitch.jsx';
import { Alert } from './Page.jsx';

export function Login({ lang, onLanguage, onLoggedIn, notice }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const { errors, formError, busy, run } = useServerErrors(['username', 'password']);

  const submit = (event) => {
    event.preventDefault();
    run(async () => onLoggedIn(await api('POST', '/api/v1/auth/session', { username, password })));
  };
  // a label, its input and the server's message about it, one under the other
  const field = (name, label, value, setValue, props) => (
    <>
      <label for={`login-${name}`}>{label}</label>
      <input
        id={`login-${name}`}
        name={name}
        value={value}
        onInput={(event) => setValue(event.currentTarget.value)}
        {...props}
      />
      <FieldError name={name} message={errors[name]} />
    </>
  );

  return (
    <main class="login-page">
      <form class="login" onSubmit={submit} novalidate data-testid="login-form">
        <div class="login-head">
          <div>
            <div class="brand">{t('app.product')}</div>
            <div class="muted">{t('login.subtitle')}</div>
          </div>
          <LanguageSwitch value={lang} onChange={onLanguage} />
        </div>
        <Alert kind="info">{notice}</Alert>
        <Alert testId="form-error">{formError}</Alert>
        {field('username', t('login.username'), username, setUsername, {
          autoComplete: 'username',
        })}
        {field('password', t('login.password'), password, setPassword, {
          type: 'password',
          autoComplete: 'current-password',
        })}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t('login.busy') : t('login.submit')}
        </button>
      </form>
    </main>
  );
}
