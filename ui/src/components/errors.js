import { ApiError } from '../api.js';
import { has, language, t } from '../i18n/index.js';

const ASCII_ONLY = /^[\x20-\x7e]*$/;

/**
 * What the user reads for a failed request: the server's own message, which names the exact
 * problem. When the console is not in English and the server answered in English, the
 * translated kind of error (by its stable code) goes in front of it.
 */
export function errorMessage(err) {
  if (!(err instanceof ApiError)) return String((err && err.message) || err);
  const key = `error.${err.code}`;
  if (!err.message) return has(key) ? t(key) : t('error.unknown');
  if (language() !== 'en' && has(key) && ASCII_ONLY.test(err.message)) {
    return `${t(key)}: ${err.message}`;
  }
  return err.message;
}

/** Splits an error into one for a field of `fieldNames` and one for the whole form. */
export function splitError(err, fieldNames) {
  if (err instanceof ApiError && err.field && fieldNames.includes(err.field)) {
    return { fields: { [err.field]: errorMessage(err) }, form: null };
  }
  return { fields: {}, form: errorMessage(err) };
}
