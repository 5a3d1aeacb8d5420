// Translated choices shared by several pages (values are the API's enums).
import { t } from '../i18n/index.js';

export const RECORDING_POLICIES = ['none', 'all', 'inbound', 'outbound'];

export const QUEUE_STRATEGIES = [
  'ringall',
  'random',
  'rrmemory',
  'linear',
  'rrordered',
  'leastcalled',
  'fewestcalls',
  'leastrecent',
  'wrandom',
];

export const ROLES = ['admin', 'supervisor', 'agent'];

export function choices(values, prefix) {
  return () => values.map((value) => ({ value, label: t(`${prefix}.${value}`) }));
}

export function yesNo(value) {
  return value ? t('common.yes') : t('common.no');
}
