import { useEffect, useState } from 'preact/hooks';
import { t } from '../i18n/index.js';
import { findPage, GROUPS, pagesFor } from '../pages/index.js';
import { navigate, useRoute } from '../router.js';
import { LanguageSwitch } from './LanguageSwitch.jsx';
import { Alert } from './Page.jsx';
import { PasswordDialog } from './PasswordDialog.jsx';
import { SoftphonePanel } from './SoftphonePanel.jsx';

function Navigation({ pages, active }) {
  return (
    <nav class="sidebar" aria-label={t('nav.label')}>
      {GROUPS.map((group) => {
        const entries = pages.filter((page) => page.group === group);
        if (entries.length === 0) return null;
        return (
          <div class="nav-group" key={group}>
            <div class="nav-heading">{t(`nav.group.${group}`)}</div>
            <ul>
              {entries.map((page) => (
                <li key={page.id}>
                  <a
                    href={`#/${page.id}`}
                    data-nav={page.id}
                    class={page.id === active ? 'active' : undefined}
                    aria-current={page.id === active ? 'page' : undefined}
                  >
                    {t(page.label)}
                  </a>
                </li>
              ))}
            </ul>
          </div>
        );
      })}
    </nav>
  );
}

// onSessionEnded(notice): a page whose action ended the session (a restore) -> login page
export function Shell({ user, lang, onLanguage, onLogout, onSessionEnded, message }) {
  const route = useRoute();
  const allowed = pagesFor(user.role);
  const [changingPassword, setChangingPassword] = useState(false);
  const [notice, setNotice] = useState(null);
  const page = route.id ? findPage(route.id) : allowed[0];

  useEffect(() => {
    if (!route.id && allowed.length > 0) navigate(allowed[0].id);
  }, [route.id]);
  useEffect(() => {
    document.title = page ? `${t(page.label)} - ${t('app.title')}` : t('app.title');
  }, [page, lang]);

  const Page = page ? page.component : null;
  return (
    <div class={user.extension ? 'shell with-softphone' : 'shell'}>
      <header class="topbar">
        <a class="brand" href="#/">
          {t('app.product')}
        </a>
        <span class="subtitle">{t('app.subtitle')}</span>
        <div class="spacer" />
        <span class="user" data-testid="current-user">
          {user.username}
          {user.extension ? ` (${user.extension})` : ''}
        </span>
        <span class={`badge role-${user.role}`} data-testid="current-role">
          {t(`role.${user.role}`)}
        </span>
        <LanguageSwitch value={lang} onChange={onLanguage} />
        <button type="button" class="quiet" onClick={() => setChangingPassword(true)}>
          {t('password.open')}
        </button>
        <button type="button" class="quiet" data-testid="logout" onClick={onLogout}>
          {t('action.logout')}
        </button>
      </header>
      <Navigation pages={allowed} active={page && page.id} />
      <main class="content">
        <Alert kind="info">{message || notice}</Alert>
        {Page ? (
          <Page key={page.id} user={user} lang={lang} onSessionEnded={onSessionEnded} />
        ) : (
          <section class="page">
            <h1>{t('notfound.title')}</h1>
            <p>{t('notfound.text', { path: route.id })}</p>
          </section>
        )}
      </main>
      {/* Outside the pages: a call goes on while the agent moves between them. */}
      {user.extension && (
        <aside class="softphone-dock">
          <SoftphonePanel extension={user.extension} />
        </aside>
      )}
      {changingPassword && (
        <PasswordDialog
          onClose={() => setChangingPassword(false)}
          onChanged={() => {
            setChangingPassword(false);
            setNotice(t('password.changed'));
          }}
        />
      )}
    </div>
  );
}
