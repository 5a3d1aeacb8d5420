import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { t } from '../i18n/index.js';
import { splitError } from './errors.js';
import { FieldError } from './Form.jsx';
import { LanguageSwitch } from './LanguageSwitch.jsx';

export function Login({ lang, onLanguage, onLoggedIn, notice }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setFormError(null);
    try {
      onLoggedIn(await api('POST', '/api/v1/auth/session', { username, password }));
    } catch (err) {
      const split = splitError(err, ['username', 'password']);
      setErrors(split.fields);
      setFormError(split.form);
      setBusy(false);
    }
  };

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
        {notice && (
          <div class="alert info" role="status">
            {notice}
          </div>
        )}
        {formError && (
          <div class="alert error" role="alert" data-testid="form-error">
            {formError}
          </div>
        )}
        <label for="login-username">{t('login.username')}</label>
        <input
          id="login-username"
          name="username"
          autoComplete="username"
          value={username}
          onInput={(event) => setUsername(event.currentTarget.value)}
        />
        <FieldError name="username" message={errors.username} />
        <label for="login-password">{t('login.password')}</label>
        <input
          id="login-password"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onInput={(event) => setPassword(event.currentTarget.value)}
        />
        <FieldError name="password" message={errors.password} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t('login.busy') : t('login.submit')}
        </button>
      </form>
    </main>
  );
}
