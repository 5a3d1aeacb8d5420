import { LANGUAGES, t } from '../i18n/index.js';

/** The language of the console; each language is named in itself. */
export function LanguageSwitch({ value, onChange, disabled }) {
  return (
    <select
      class="language"
      aria-label={t('language.label')}
      data-testid="language-switch"
      value={value}
      disabled={disabled}
      onChange={(event) => onChange(event.currentTarget.value)}
    >
      {LANGUAGES.map((lang) => (
        <option key={lang} value={lang}>
          {t(`language.${lang}`)}
        </option>
      ))}
    </select>
  );
}
