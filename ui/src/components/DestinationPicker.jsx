// Where a call goes: a `kind:target` destination (queue:600, ivr:main, hangup ...) picked as a
// kind and, for kinds that name something, a target from the API's lists. Shared by the IVR
// editor, ring groups (failover) and inbound routes (destination, closed).
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { t } from '../i18n/index.js';
import { DESTINATION_KINDS, TARGETED_KINDS } from '../pages/options.js';

const SOURCES = {
  extension: '/api/v1/extensions',
  queue: '/api/v1/queues',
  ring_group: '/api/v1/ring-groups',
  conference: '/api/v1/conferences',
  ivr: '/api/v1/ivrs',
};

function option(kind, item) {
  if (kind === 'ivr') {
    return { value: item.name, label: item.number ? `${item.name} (${item.number})` : item.name };
  }
  return { value: item.number, label: item.name ? `${item.number} ${item.name}` : item.number };
}

/**
 * The targets a destination may name, per kind: {kind: [{value, label}]}. A list this role
 * may not read (extensions for a supervisor) is left empty; the current value still shows.
 */
async function loadTargets() {
  const entries = await Promise.all(
    Object.entries(SOURCES).map(async ([kind, path]) => {
      try {
        const data = await api('GET', path);
        return [kind, data.items.map((item) => option(kind, item))];
      } catch {
        return [kind, []];
      }
    }),
  );
  const targets = Object.fromEntries(entries);
  // a mailbox belongs to an extension or to a queue, by number
  targets.voicemail = [...targets.extension, ...targets.queue];
  return targets;
}

/** The lists of loadTargets(), empty until loaded. */
export function useTargets() {
  const [targets, setTargets] = useState({});
  useEffect(() => {
    loadTargets().then(setTargets);
  }, []);
  return targets;
}

/** 'queue:600' -> {kind: 'queue', target: '600'}; '' or null -> {kind: ''}. */
export function splitDestination(value) {
  if (!value) return { kind: '', target: '' };
  const colon = value.indexOf(':');
  if (colon < 0) return { kind: value, target: '' };
  return { kind: value.slice(0, colon), target: value.slice(colon + 1) };
}

/** The destination in words: "队列 600", "挂断"; `none` for an empty one. */
export function describeDestination(value, none = '—') {
  if (!value) return none;
  const { kind, target } = splitDestination(value);
  const name = DESTINATION_KINDS.includes(kind) ? t(`dest_kind.${kind}`) : kind;
  return target ? `${name} ${target}` : name;
}

/** Form value -> API value: an empty destination is null. */
function destinationToJson(value) {
  return value ? value : null;
}

// an option value no IVR name can take (names start with a letter or digit)
const NEW_IVR = '+new';

/**
 * value: 'kind:target', 'hangup', 'repeat' or '' (none). Props: targets (useTargets()),
 * allowRepeat (IVR keys), noneLabel (the text of "none"; without it there is no such choice),
 * onNewIvr (offers "new sub-menu" among the IVRs and calls it when chosen).
 */
export function DestinationPicker({
  value,
  onChange,
  targets,
  allowRepeat,
  noneLabel,
  onNewIvr,
  disabled,
  id,
  invalid,
  label,
}) {
  const { kind, target } = splitDestination(value);
  const kinds = DESTINATION_KINDS.filter((k) => allowRepeat || k !== 'repeat');
  const targeted = TARGETED_KINDS.includes(kind);
  const list = (targets && targets[kind]) || [];
  const options = [...list];
  if (targeted && target && !list.some((item) => item.value === target)) {
    // a target the list lacks is gone (marked); without a list (this role may not read it,
    // e.g. extensions for a supervisor) it is shown as it is
    const label = list.length ? `${target} (${t('dest.unknown')})` : target;
    options.unshift({ value: target, label });
  }
  const changeKind = (next) => {
    if (!TARGETED_KINDS.includes(next)) {
      onChange(next);
      return;
    }
    const first = ((targets && targets[next]) || [])[0];
    onChange(`${next}:${first ? first.value : ''}`);
    if (!first && next === 'ivr' && onNewIvr) onNewIvr();
  };
  // the kind and the target select: ids `${id}-kind`, `${id}-target` (for labels and tests)
  const part = (name, what) => ({
    id: id ? `${id}-${name}` : undefined,
    'data-part': name,
    'aria-label': label ? `${label}: ${what}` : what,
    'aria-invalid': invalid ? 'true' : undefined,
    disabled,
  });
  return (
    <span class="dest-picker" data-destination={value || ''}>
      <select
        {...part('kind', t('dest.kind'))}
        value={kind}
        onChange={(event) => changeKind(event.currentTarget.value)}
      >
        {(noneLabel || !kind) && <option value="">{noneLabel || t('dest.choose')}</option>}
        {kinds.map((k) => (
          <option key={k} value={k}>
            {t(`dest_kind.${k}`)}
          </option>
        ))}
      </select>
      {targeted && (
        <select
          {...part('target', t('dest.target'))}
          value={target}
          onChange={(event) => {
            const next = event.currentTarget.value;
            if (next === NEW_IVR) onNewIvr();
            else onChange(`${kind}:${next}`);
          }}
        >
          {!target && <option value="">{t('dest.choose_target')}</option>}
          {options.map((item) => (
            <option key={item.value} value={item.value}>
              {item.label}
            </option>
          ))}
          {kind === 'ivr' && onNewIvr && !disabled && (
            <option value={NEW_IVR}>{t('ivrs.new_submenu')}</option>
          )}
        </select>
      )}
    </span>
  );
}

/** A DestinationPicker as a CrudPage field (type custom). */
export function destinationField(name, label, targets, extra = {}) {
  return {
    name,
    label,
    type: 'custom',
    default: '',
    toJson: destinationToJson,
    render: ({ value, onChange, disabled, id, invalid }) => (
      <DestinationPicker
        id={id}
        value={value || ''}
        onChange={onChange}
        targets={targets}
        disabled={disabled}
        invalid={invalid}
        label={t(label)}
        noneLabel={extra.noneLabel ? t(extra.noneLabel) : undefined}
      />
    ),
    ...extra,
  };
}
