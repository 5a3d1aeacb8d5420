// Every visible string goes through t(): the dictionaries are flat maps of dotted keys.
// zh-CN.js and en.js must hold the same keys (tests/web/test_ui_i18n.py checks it).
import zhCN from './zh-CN.js';
import en from './en.js';

export const LANGUAGES = ['zh-CN', 'en'];
const DICTIONARIES = { 'zh-CN': zhCN, en };
const STORAGE_KEY = 'coocenter.language';

let current = 'zh-CN';
const listeners = new Set();

/** The language before login: the stored choice, else the browser's, else Chinese. */
export function initialLanguage() {
  let stored = null;
  try {
    stored = window.localStorage.getItem(STORAGE_KEY);
  } catch {
    // storage disabled: fall through to the browser's language
  }
  if (LANGUAGES.includes(stored)) return stored;
  const wanted = navigator.languages || [navigator.language || ''];
  for (const tag of wanted) {
    const lower = String(tag).toLowerCase();
    if (lower.startsWith('zh')) return 'zh-CN';
    if (lower.startsWith('en')) return 'en';
  }
  return 'zh-CN';
}

export function language() {
  return current;
}

/** Switches the language, remembers it in this browser and re-renders the subscribers. */
export function setLanguage(lang) {
  if (!LANGUAGES.includes(lang)) return;
  current = lang;
  try {
    window.localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // private mode: the choice lasts for this page only
  }
  document.documentElement.lang = lang;
  document.title = t('app.title');
  for (const listener of listeners) listener(lang);
}

export function onLanguageChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The text of `key` in the current language, `{name}` replaced from `params`. */
export function t(key, params) {
  let text = DICTIONARIES[current][key];
  if (text === undefined) {
    text = DICTIONARIES.en[key];
    if (text === undefined) return key;
  }
  if (params) {
    text = text.replace(/\{(\w+)\}/g, (whole, name) =>
      params[name] === undefined ? whole : String(params[name]),
    );
  }
  return text;
}

/** Whether `key` exists (for optional translations such as error codes). */
export function has(key) {
  return DICTIONARIES[current][key] !== undefined;
}
