import { useEffect, useState } from 'preact/hooks';
import { api, setCsrfToken, setUnauthorizedHandler } from './api.js';
import { errorMessage } from './components/errors.js';
import { Login } from './components/Login.jsx';
import { Shell } from './components/Shell.jsx';
import { language, LANGUAGES, onLanguageChange, setLanguage, t } from './i18n/index.js';

// session.state: loading | anonymous | ready
export function App() {
  const [lang, setLang] = useState(language());
  const [session, setSession] = useState({ state: 'loading' });
  const [message, setMessage] = useState(null);

  useEffect(() => onLanguageChange(setLang), []);

  const start = (body) => {
    setCsrfToken(body.csrf_token);
    // after login the user's own setting wins over this browser's
    if (LANGUAGES.includes(body.user.language)) setLanguage(body.user.language);
    setMessage(null);
    setSession({ state: 'ready', user: body.user });
  };
  const end = (notice) => {
    setCsrfToken(null);
    setSession({ state: 'anonymous', notice });
  };

  useEffect(() => {
    setUnauthorizedHandler(() => end(t('login.expired')));
    api('GET', '/api/v1/auth/session')
      .then(start)
      .catch((err) => end(err.status === 401 ? null : errorMessage(err)));
  }, []);

  const changeLanguage = async (next) => {
    setLanguage(next);
    if (session.state !== 'ready') return;
    try {
      const body = await api('PUT', '/api/v1/users/me', { language: next });
      // the answer is the user (GET /api/v1/users/me's shape)
      const user = body && body.username ? body : { ...session.user, language: next };
      setSession({ state: 'ready', user });
      setMessage(null);
    } catch (err) {
      setMessage(t('language.not_saved', { reason: errorMessage(err) }));
    }
  };

  const logout = async () => {
    try {
      await api('DELETE', '/api/v1/auth/session');
    } catch {
      // the session is gone either way for this page
    }
    end(t('login.logged_out'));
  };

  if (session.state === 'loading') {
    return <div class="loading">{t('common.loading')}</div>;
  }
  if (session.state === 'anonymous') {
    return (
      <Login lang={lang} onLanguage={changeLanguage} onLoggedIn={start} notice={session.notice} />
    );
  }
  return (
    <Shell
      user={session.user}
      lang={lang}
      onLanguage={changeLanguage}
      onLogout={logout}
      onSessionEnded={end}
      message={message}
    />
  );
}
