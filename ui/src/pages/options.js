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

// --- administration pages (IVRs, ring groups, routes, trunks, users, blacklist) ---------------
// Destination kinds (`kind:target`, pbxd/callcenter/destinations.py); `repeat` is for IVR
// keys only. Shown through `dest_kind.<kind>`.
export const DESTINATION_KINDS = [
  'extension',
  'ring_group',
  'ivr',
  'queue',
  'conference',
  'voicemail',
  'survey',
  'hangup',
  'repeat',
];
// the kinds that name a target (`queue:600`); the others stand alone (`hangup`)
export const TARGETED_KINDS = ['extension', 'ring_group', 'ivr', 'queue', 'conference', 'voicemail'];
export const RING_GROUP_STRATEGIES = ['ringall', 'order']; // rg_strategy.<value>
export const MASKINGS = ['all', 'partial', 'name_only']; // masking.<value>
export const BLACKLIST_DIRECTIONS = ['inbound', 'outbound', 'both']; // bl_direction.<value>
export const TRUNK_TRANSPORTS = ['udp', 'tcp']; // transport.<value>
export const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7]; // ISO, Monday = 1: weekday.<n>, weekday_short.<n>

// --- history pages (recordings, CDR, reports, operation log, system) ------------------------
// CDR and leg dispositions: disposition.<VALUE> with the space as "_" (dispositionText).
export const DISPOSITIONS = ['ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED', 'CANCELLED', 'ABANDONED'];
export const HANGUP_SIDES = ['caller', 'callee', 'system']; // hangup_side.<value>
export const DIRECTIONS = ['inbound', 'outbound', 'internal']; // direction.<value>
export const PEER_KINDS = ['extension', 'trunk']; // peer_kind.<value>
export const SURVEY_RESULTS = ['very_satisfied', 'satisfied', 'unsatisfied']; // survey.<value>
export const SURVEY_REASONS = ['service', 'attitude', 'other']; // survey_reason.<value>
export const REPORT_PERIODS = ['day', 'week', 'month']; // report_period.<value>
export const REPORT_GROUPS = ['total', 'queue', 'agent']; // report_group.<value>
export const OPLOG_ACTIONS = ['login', 'login_failed', 'logout']; // oplog_action.<value>
export const OPLOG_VIAS = ['token', 'session']; // oplog_via.<value>

export function dispositionText(value) {
  return DISPOSITIONS.includes(value) ? t(`disposition.${value.replace(' ', '_')}`) : value;
}
