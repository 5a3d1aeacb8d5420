// IVRs (自动语音导航): a list, and an editor that draws a menu as a tree: the prompt, one
// branch per key (0-9 * #), the timeout and invalid-key branches. A branch into another IVR
// opens that menu's own keys beneath it (a sub-menu), except when that IVR is already on the
// path from the root: then it is a link, not drawn again.
//
// The editor holds a draft of every IVR (sub-menus are edited in place, new ones made from a
// branch). Saving first creates the new menus bare (no branches, so that menus may name each
// other), then PUTs every changed menu whole, sub-menus first. The server checks targets and
// automatic loops; its error is shown at the menu, branch or key it names.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import {
  describeDestination,
  DestinationPicker,
  splitDestination,
  useTargets,
} from '../components/DestinationPicker.jsx';
import { CrudPage } from '../components/CrudPage.jsx';
import { ConfirmDialog } from '../components/Dialog.jsx';
import { errorMessage } from '../components/errors.js';
import { FieldError } from '../components/Form.jsx';
import { Alert, PageHead } from '../components/Page.jsx';
import { PlayerBar, promptAudioUrl } from '../components/Player.jsx';
import { useSuggestions } from '../hooks.js';
import { language, t } from '../i18n/index.js';
import { navigate, useRoute } from '../router.js';

const KEYS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#'];
const KEY_IDS = { '*': 'star', '#': 'hash' }; // in DOM ids
const BRANCH_FIELDS = { timeout: 'timeout_destination', invalid: 'invalid_destination' };
// the form's copy of the OpenAPI pattern of IVR names (the server checks it again)
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const INTEGER = /^\d+$/;

const NEW_VALUES = {
  name: '',
  number: '',
  prompt: '',
  keys: {},
  dial_extension: false,
  timeout: '5',
  retries: '2',
  invalid_prompt: '',
  timeout_destination: '',
  invalid_destination: '',
};

/** API object -> the editor's values (strings as the inputs hold them). */
function toValues(ivr) {
  return {
    name: ivr.name,
    number: ivr.number || '',
    prompt: ivr.prompt || '',
    keys: { ...ivr.keys },
    dial_extension: Boolean(ivr.dial_extension),
    timeout: String(ivr.timeout),
    retries: String(ivr.retries),
    invalid_prompt: ivr.invalid_prompt || '',
    timeout_destination: ivr.timeout_destination || '',
    invalid_destination: ivr.invalid_destination || '',
  };
}

function integer(text) {
  const trimmed = String(text).trim();
  return INTEGER.test(trimmed) ? Number(trimmed) : trimmed; // else the server names the field
}

/** The whole IVR as PUT (or POST with `create`); `bare`: without any branch. */
function ivrBody(values, { create = false, bare = false } = {}) {
  const keys = {};
  for (const key of KEYS) if (values.keys[key]) keys[key] = values.keys[key];
  const body = {
    number: values.number.trim() || null,
    prompt: values.prompt || null,
    keys: bare ? {} : keys,
    dial_extension: values.dial_extension,
    timeout: integer(values.timeout),
    retries: integer(values.retries),
    invalid_prompt: values.invalid_prompt || null,
    timeout_destination: bare ? null : values.timeout_destination || null,
    invalid_destination: bare ? null : values.invalid_destination || null,
  };
  return create ? { name: values.name.trim(), ...body } : body;
}

/** The IVR names a menu's branches lead to. */
function childNames(values) {
  const names = [];
  for (const dest of [
    ...KEYS.map((key) => values.keys[key]),
    values.timeout_destination,
    values.invalid_destination,
  ]) {
    const { kind, target } = splitDestination(dest);
    if (kind === 'ivr' && target) names.push(target);
  }
  return names;
}

function idsByName(drafts) {
  const byName = {};
  for (const draft of Object.values(drafts)) {
    const name = draft.values.name;
    // an existing IVR wins over a new draft typed with the same name
    if (name && (!byName[name] || drafts[byName[name]].isNew)) byName[name] = draft.id;
  }
  return byName;
}

/** Draft ids reachable from `rootId`, each after the menus it leads to (save order). */
function saveOrder(drafts, rootId) {
  const byName = idsByName(drafts);
  const seen = new Set();
  const order = [];
  const visit = (id) => {
    if (seen.has(id)) return;
    seen.add(id);
    for (const name of childNames(drafts[id].values)) if (byName[name]) visit(byName[name]);
    order.push(id);
  };
  visit(rootId);
  return order;
}

/** Where a server error goes: {field, key, message}; `key` for a key the message names. */
function placeError(err) {
  const message = errorMessage(err);
  const field = err && err.field ? err.field : null;
  if (field === 'keys') {
    // "ivr main key 1: no queue:600 exists" / "语音导航 main 的按键 1：..."
    const match = /(?:\bkey|按键)\s*([0-9*#])/.exec((err && err.message) || '');
    if (match) return { field, key: match[1], message };
  }
  return { field, key: null, message };
}

function playLanguage(prompt) {
  const wanted = language().startsWith('zh') ? 'zh' : 'en';
  if (!prompt || !prompt.languages || prompt.languages.length === 0) return null;
  return prompt.languages.includes(wanted) ? wanted : prompt.languages[0];
}

// --- the list -----------------------------------------------------------------------------

/** The menus whose branches lead to `name` (its parents), for the "sub-menu of" column. */
function parentsOf(name, ivrs) {
  const parents = ivrs
    .filter((ivr) => ivr.name !== name && childNames(toValues(ivr)).includes(name))
    .map((ivr) => ivr.name);
  return parents.length ? parents.sort().join(', ') : '—';
}

function KeySummary({ keys }) {
  const entries = Object.entries(keys);
  if (entries.length === 0) return '—';
  return entries.map(([key, dest]) => (
    <span class="key-summary" key={key}>
      <span class="key-badge small">{key}</span>
      {describeDestination(dest)}
    </span>
  ));
}

// the generic list; a menu opens in the tree editor (#/ivrs/NAME), not in a dialog
const LIST_PAGE = {
  id: 'ivrs',
  title: 'ivrs.title',
  singular: 'ivrs.singular',
  endpoint: '/api/v1/ivrs',
  idField: 'name',
  canEdit: (user) => user.role === 'admin',
  onCreate: () => navigate('ivrs/+new'),
  onOpen: (ivr) => navigate(`ivrs/${ivr.name}`),
  filterText: (ivr) => [ivr.name, ivr.number || '', ivr.prompt],
  columns: [
    { key: 'name', label: 'ivrs.name', cellClass: 'mono' },
    { key: 'number', label: 'ivrs.number' },
    { key: 'prompt', label: 'ivrs.prompt', cellClass: 'mono' },
    {
      key: 'keys',
      label: 'ivrs.keys',
      cellClass: 'ivr-keys',
      render: (ivr) => <KeySummary keys={ivr.keys} />,
    },
    {
      key: 'timeout_destination',
      label: 'ivrs.timeout_branch',
      render: (ivr) => describeDestination(ivr.timeout_destination, t('ivrs.hangup_default')),
    },
    { key: 'parents', label: 'ivrs.parents', render: (ivr, ivrs) => parentsOf(ivr.name, ivrs) },
  ],
};

// --- the editor ---------------------------------------------------------------------------

function PromptSelect({ id, value, onChange, prompts, disabled, required, invalid, onPlay }) {
  const known = prompts.find((prompt) => prompt.id === value);
  const list = !value || known ? prompts : [{ id: value, languages: [] }, ...prompts];
  const lang = playLanguage(known);
  return (
    <span class="prompt-select">
      <select
        id={id}
        value={value}
        disabled={disabled}
        aria-invalid={invalid ? 'true' : undefined}
        onChange={(event) => onChange(event.currentTarget.value)}
      >
        <option value="">{required ? t('ivrs.choose_prompt') : t('ivrs.no_prompt')}</option>
        {list.map((prompt) => (
          <option key={prompt.id} value={prompt.id}>
            {prompt.source === 'system'
              ? `${prompt.id} (${t('prompts.source_system')})`
              : prompt.id}
          </option>
        ))}
      </select>
      <button
        type="button"
        class="small"
        data-play-prompt={value}
        title={t('ivrs.play')}
        aria-label={t('ivrs.play')}
        disabled={!lang}
        onClick={() => onPlay(value, lang)}
      >
        ▶
      </button>
    </span>
  );
}

function SubmenuForm({ ctx, onCreate, onCancel }) {
  const [name, setName] = useState('');
  const [problem, setProblem] = useState(null);
  const submit = () => {
    const trimmed = name.trim();
    if (!NAME_PATTERN.test(trimmed)) setProblem(t('ivrs.name_invalid'));
    else if (ctx.byName[trimmed]) setProblem(t('ivrs.name_taken', { name: trimmed }));
    else onCreate(trimmed);
  };
  return (
    <div class="submenu-form" data-testid="submenu-form">
      <input
        type="text"
        autoComplete="off"
        placeholder={t('ivrs.submenu_name')}
        aria-label={t('ivrs.submenu_name')}
        aria-invalid={problem ? 'true' : undefined}
        value={name}
        onInput={(event) => setName(event.currentTarget.value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter') {
            event.preventDefault();
            submit();
          }
        }}
      />
      <button type="button" class="primary small" onClick={submit}>
        {t('ivrs.submenu_create')}
      </button>
      <button type="button" class="small" onClick={onCancel}>
        {t('action.cancel')}
      </button>
      {problem && (
        <div class="field-error" role="alert">
          {problem}
        </div>
      )}
    </div>
  );
}

function Branch({ ctx, id, uid, path, depth, branch, repeated }) {
  const values = ctx.drafts[id].values;
  const isKey = !BRANCH_FIELDS[branch];
  const field = isKey ? 'keys' : BRANCH_FIELDS[branch];
  const value = isKey ? values.keys[branch] || '' : values[field];
  const childUid = `${uid}-${isKey ? KEY_IDS[branch] || branch : branch}`;
  const pathText = path.map((step) => step.name).join('/');
  const { kind, target } = splitDestination(value);
  const childId = kind === 'ivr' && target ? ctx.byName[target] : null;
  const ancestor = kind === 'ivr' ? path.find((step) => step.name === target) : null;
  const error = ctx.errors[id];
  const message =
    error && error.field === field && (!isKey || error.key === branch) ? error.message : null;
  // a menu a sibling branch already opens starts closed here
  const open = childId && !ancestor ? ctx.isOpen(childUid, childId, depth + 1, repeated) : false;
  const creating = ctx.creatingAt === childUid;
  const label = isKey ? branch : t(`ivrs.branch_${branch}`);
  return (
    <li
      class={`ivr-branch${value ? '' : ' unset'}${isKey ? '' : ' special'}`}
      data-branch={`${pathText}:${branch}`}
    >
      <div class="branch-line">
        <span class={isKey ? 'key-badge' : 'key-badge wide'} title={label}>
          {label}
        </span>
        <DestinationPicker
          id={`ivr-${childUid}`}
          value={value}
          targets={ctx.targets}
          allowRepeat={isKey}
          noneLabel={isKey ? t('ivrs.key_unused') : t('ivrs.hangup_default')}
          disabled={ctx.readOnly}
          invalid={Boolean(message)}
          label={isKey ? t('ivrs.key_label', { key: branch }) : label}
          onChange={(dest) => ctx.setBranch(id, branch, dest)}
          onNewIvr={ctx.readOnly ? undefined : () => ctx.setCreatingAt(childUid)}
        />
        {ancestor && (
          <button
            type="button"
            class="link loop-link"
            data-loop-link={target}
            title={t('ivrs.on_path_hint')}
            onClick={() => {
              const node = document.getElementById(`ivr-node-${ancestor.uid}`);
              if (node) node.scrollIntoView({ block: 'start', behavior: 'smooth' });
            }}
          >
            ↩ {t('ivrs.on_path', { name: target })}
          </button>
        )}
        {kind === 'ivr' && target && !childId && (
          <span class="badge warn">{t('ivrs.missing', { name: target })}</span>
        )}
        {childId && !ancestor && (
          <button
            type="button"
            class="small"
            data-toggle={childUid}
            aria-expanded={open ? 'true' : 'false'}
            onClick={() => ctx.toggle(childUid, !open)}
          >
            {open ? t('ivrs.collapse') : t('ivrs.expand')}
          </button>
        )}
      </div>
      {creating && (
        <SubmenuForm
          ctx={ctx}
          onCancel={() => ctx.setCreatingAt(null)}
          onCreate={(name) => ctx.newSubmenu(id, branch, name, childUid)}
        />
      )}
      {message && (
        <div
          class="field-error"
          role="alert"
          data-field={field}
          data-key={isKey ? branch : undefined}
        >
          {message}
        </div>
      )}
      {open && (
        <div class="ivr-sub">
          <IvrNode ctx={ctx} id={childId} uid={childUid} path={path} depth={depth + 1} />
        </div>
      )}
    </li>
  );
}

const NODE_FIELDS = ['name', 'number', 'prompt', 'invalid_prompt', 'timeout', 'retries'];

function IvrNode({ ctx, id, uid, path, depth }) {
  const draft = ctx.drafts[id];
  const values = draft.values;
  const here = [...path, { name: values.name, uid }];
  const error = ctx.errors[id];
  const fieldError = (name) => (error && error.field === name ? error.message : null);
  const nameInput = draft.isNew && depth === 0 && ctx.creatingRoot;
  const elsewhere =
    error &&
    (!NODE_FIELDS.includes(error.field) || (error.field === 'name' && !nameInput)) &&
    error.field !== 'dial_extension' &&
    !Object.values(BRANCH_FIELDS).includes(error.field) &&
    !(error.field === 'keys' && error.key);
  const set = (change) => ctx.update(id, change);
  const base = `ivr-${uid}`;
  // keys in use (or opened by the user) are branches; the others wait in one row of chips
  const shownKeys = KEYS.filter((key) => values.keys[key] || ctx.isRevealed(uid, key));
  const unusedKeys = KEYS.filter((key) => !shownKeys.includes(key));
  const branches = [...shownKeys, 'timeout', 'invalid'];
  const repeated = new Set();
  const opened = new Set();
  for (const branch of branches) {
    const dest = BRANCH_FIELDS[branch] ? values[BRANCH_FIELDS[branch]] : values.keys[branch];
    const { kind, target } = splitDestination(dest);
    if (kind !== 'ivr' || !target) continue;
    if (opened.has(target)) repeated.add(branch);
    opened.add(target);
  }
  const branchItem = (branch) => (
    <Branch
      key={branch}
      ctx={ctx}
      id={id}
      uid={uid}
      path={here}
      depth={depth}
      branch={branch}
      repeated={repeated.has(branch)}
    />
  );
  const input = (name, label, props = {}) => (
    <div class="ivr-field" data-testid={`field-${name}`}>
      <label for={`${base}-${name}`}>{t(label)}</label>
      <input
        id={`${base}-${name}`}
        name={name}
        type="text"
        autoComplete="off"
        value={values[name]}
        disabled={ctx.readOnly}
        aria-invalid={fieldError(name) ? 'true' : undefined}
        onInput={(event) => set({ [name]: event.currentTarget.value })}
        {...props}
      />
      <FieldError name={name} message={fieldError(name)} />
    </div>
  );
  const prompt = (name, label, required) => (
    <div class="ivr-field wide" data-testid={`field-${name}`}>
      <label for={`${base}-${name}`}>{t(label)}</label>
      <PromptSelect
        id={`${base}-${name}`}
        value={values[name]}
        prompts={ctx.prompts}
        required={required}
        disabled={ctx.readOnly}
        invalid={Boolean(fieldError(name))}
        onChange={(value) => set({ [name]: value })}
        onPlay={ctx.play}
      />
      <FieldError name={name} message={fieldError(name)} />
    </div>
  );
  return (
    <div
      class={depth === 0 ? 'ivr-node root' : 'ivr-node'}
      id={`ivr-node-${uid}`}
      data-ivr-node={here.map((step) => step.name).join('/')}
    >
      <div class="ivr-node-head">
        <span class="ivr-icon" aria-hidden="true">
          ☰
        </span>
        {nameInput ? (
          <span class="ivr-name-input">{input('name', 'ivrs.name', { placeholder: 'main' })}</span>
        ) : (
          <strong class="mono">{values.name}</strong>
        )}
        {depth > 0 && <span class="muted">{t('ivrs.submenu')}</span>}
        {draft.isNew && <span class="badge subtle">{t('ivrs.new_badge')}</span>}
        {draft.dirty && !draft.isNew && <span class="badge subtle">{t('ivrs.unsaved')}</span>}
      </div>
      {elsewhere && (
        <div class="alert error" role="alert" data-field={error.field || undefined}>
          {error.message}
        </div>
      )}
      <div class="ivr-settings">
        {prompt('prompt', 'ivrs.prompt', true)}
        {input('number', 'ivrs.number', { inputMode: 'numeric', class: 'short' })}
        {input('timeout', 'ivrs.timeout', { inputMode: 'numeric', class: 'short' })}
        {input('retries', 'ivrs.retries', { inputMode: 'numeric', class: 'short' })}
        <div class="ivr-field check" data-testid="field-dial_extension">
          <label>
            <input
              type="checkbox"
              name="dial_extension"
              checked={values.dial_extension}
              disabled={ctx.readOnly}
              onChange={(event) => set({ dial_extension: event.currentTarget.checked })}
            />
            {t('ivrs.dial_extension')}
          </label>
          <FieldError name="dial_extension" message={fieldError('dial_extension')} />
        </div>
        {prompt('invalid_prompt', 'ivrs.invalid_prompt', false)}
      </div>
      <ul class="ivr-branches">
        {shownKeys.map(branchItem)}
        {unusedKeys.length > 0 && (
          <li class="ivr-branch unset add-keys" data-unused-keys={uid}>
            <div class="branch-line">
              <span class="muted">{t(ctx.readOnly ? 'ivrs.unused_keys' : 'ivrs.add_key')}</span>
              {unusedKeys.map((key) =>
                ctx.readOnly ? (
                  <span key={key} class="key-badge small off">
                    {key}
                  </span>
                ) : (
                  <button
                    type="button"
                    key={key}
                    class="key-chip"
                    id={`${base}-add-${KEY_IDS[key] || key}`}
                    data-add-key={key}
                    title={t('ivrs.key_label', { key })}
                    aria-label={t('ivrs.add_key_label', { key })}
                    onClick={() => ctx.reveal(uid, key)}
                  >
                    {key}
                  </button>
                ),
              )}
            </div>
          </li>
        )}
        {['timeout', 'invalid'].map(branchItem)}
      </ul>
    </div>
  );
}

let draftCounter = 0;

function IvrEditor({ name, user, notice: initialNotice, onCreated }) {
  const creatingRoot = name === null;
  const readOnly = user.role !== 'admin';
  const [drafts, setDrafts] = useState(null);
  const [rootId, setRootId] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const baseTargets = useTargets();
  const [expanded, setExpanded] = useState({});
  const [revealed, setRevealed] = useState({}); // `${uid}:${key}` of unused keys opened
  const [creatingAt, setCreatingAt] = useState(null);
  const [errors, setErrors] = useState({});
  const [summary, setSummary] = useState([]);
  const [notice, setNotice] = useState(initialNotice || null);
  const [busy, setBusy] = useState(false);
  const [playing, setPlaying] = useState(null);
  const [leaving, setLeaving] = useState(false);

  const prompts = useSuggestions('/api/v1/prompts');
  useEffect(() => {
    api('GET', '/api/v1/ivrs')
      .then((data) => {
        const loaded = {};
        for (const ivr of data.items) {
          const id = `ivr:${ivr.name}`;
          loaded[id] = { id, values: toValues(ivr), isNew: false, dirty: false };
        }
        let root = name ? `ivr:${name}` : null;
        if (creatingRoot) {
          root = `new:${++draftCounter}`;
          loaded[root] = { id: root, values: { ...NEW_VALUES }, isNew: true, dirty: true };
        }
        if (!loaded[root]) {
          setLoadError(t('ivrs.not_found', { name }));
          return;
        }
        setDrafts(loaded);
        setRootId(root);
      })
      .catch((err) => setLoadError(errorMessage(err)));
  }, []);

  const byName = useMemo(() => (drafts ? idsByName(drafts) : {}), [drafts]);
  const targets = useMemo(() => {
    const ivrs = Object.values(drafts || {})
      .filter((draft) => draft.values.name)
      .map((draft) => ({
        value: draft.values.name,
        label: draft.values.number
          ? `${draft.values.name} (${draft.values.number})`
          : draft.values.name,
      }))
      .sort((a, b) => a.value.localeCompare(b.value));
    return { ...baseTargets, ivr: ivrs };
  }, [baseTargets, drafts]);

  const update = (id, change) =>
    setDrafts((old) => ({
      ...old,
      [id]: { ...old[id], values: { ...old[id].values, ...change }, dirty: true },
    }));
  const setBranch = (id, branch, dest) => {
    if (BRANCH_FIELDS[branch]) {
      update(id, { [BRANCH_FIELDS[branch]]: dest });
      return;
    }
    const keys = { ...drafts[id].values.keys };
    if (dest) keys[branch] = dest;
    else delete keys[branch];
    update(id, { keys });
  };
  const newSubmenu = (parentId, branch, subName, childUid) => {
    const id = `new:${++draftCounter}`;
    setDrafts((old) => ({
      ...old,
      [id]: { id, values: { ...NEW_VALUES, name: subName }, isNew: true, dirty: true },
    }));
    setBranch(parentId, branch, `ivr:${subName}`);
    setExpanded((old) => ({ ...old, [childUid]: true }));
    setCreatingAt(null);
  };

  const ctx = {
    drafts,
    byName,
    targets,
    prompts,
    errors,
    readOnly,
    creatingRoot,
    creatingAt,
    setCreatingAt,
    update,
    setBranch,
    newSubmenu,
    play: (id, lang) => setPlaying({ id, lang }),
    // sub-menus one level down open by default, deeper ones on demand; one with an error
    // or just made opens too
    isOpen: (uid, id, depth, repeated) =>
      expanded[uid] ??
      ((depth <= 1 && !repeated) || Boolean(errors[id]) || Boolean(drafts[id].isNew)),
    toggle: (uid, open) => setExpanded((old) => ({ ...old, [uid]: open })),
    isRevealed: (uid, key) => Boolean(revealed[`${uid}:${key}`]),
    reveal: (uid, key) => {
      setRevealed((old) => ({ ...old, [`${uid}:${key}`]: true }));
      // the new branch's kind select takes the focus once drawn
      requestAnimationFrame(() => {
        const select = document.getElementById(`ivr-${uid}-${KEY_IDS[key] || key}-kind`);
        if (select) select.focus();
      });
    },
  };

  const save = async () => {
    setBusy(true);
    setErrors({});
    setSummary([]);
    setNotice(null);
    let current = drafts;
    const patch = (id, change) => {
      current = { ...current, [id]: { ...current[id], ...change } };
    };
    const found = {};
    const order = saveOrder(current, rootId);
    const reachable = new Set(order);
    // 1. the new menus, bare: afterwards every menu the branches name exists
    for (const id of order) {
      if (!current[id].isNew) continue;
      try {
        const body = ivrBody(current[id].values, { create: true, bare: true });
        await api('POST', '/api/v1/ivrs', body);
        patch(id, { isNew: false });
      } catch (err) {
        found[id] = placeError(err);
      }
    }
    // 2. every changed menu, whole, sub-menus first; a round that saved some menus retries
    // the others (one may have waited for another's change)
    const saved = [];
    if (Object.keys(found).length === 0) {
      let pending = [
        ...order,
        ...Object.keys(current).filter((id) => !reachable.has(id) && !current[id].isNew),
      ].filter((id) => current[id].dirty);
      let failures = [];
      while (pending.length) {
        failures = [];
        for (const id of pending) {
          try {
            const body = ivrBody(current[id].values);
            const ivr = await api('PUT', `/api/v1/ivrs/${seg(current[id].values.name)}`, body);
            patch(id, { values: toValues(ivr), dirty: false });
            saved.push(ivr.name);
          } catch (err) {
            failures.push([id, err]);
          }
        }
        if (failures.length === pending.length) break;
        pending = failures.map(([id]) => id);
      }
      for (const [id, err] of failures) found[id] = placeError(err);
    }
    // new sub-menus no branch leads to any more are dropped
    for (const id of Object.keys(current)) {
      if (current[id].isNew && !reachable.has(id)) {
        const { [id]: _dropped, ...rest } = current;
        current = rest;
      }
    }
    setDrafts(current);
    setErrors(found);
    setBusy(false);
    const failed = Object.keys(found);
    if (failed.length) {
      setSummary(
        failed.map((id) => ({
          id,
          text: t('ivrs.save_failed', {
            name: current[id].values.name,
            message: found[id].message,
          }),
        })),
      );
      if (saved.length) setNotice(t('ivrs.saved_some', { names: saved.join(', ') }));
      return;
    }
    const message = saved.length
      ? t('ivrs.saved', { names: saved.join(', ') })
      : t('ivrs.nothing_to_save');
    if (creatingRoot) onCreated(current[rootId].values.name, message);
    else setNotice(message);
  };

  const dirty = drafts && Object.values(drafts).some((draft) => draft.dirty);
  const back = () => navigate('ivrs');
  const root = drafts && rootId ? drafts[rootId] : null;
  const title = creatingRoot
    ? t('ivrs.create_title')
    : t(readOnly ? 'ivrs.view_title' : 'ivrs.edit_title', { name });
  return (
    <section class="page" data-page="ivrs" data-editor={root ? root.values.name || '+new' : ''}>
      <PageHead title={title}>
        <button
          type="button"
          data-testid="back"
          onClick={() => (dirty && !readOnly ? setLeaving(true) : back())}
        >
          {t('ivrs.back')}
        </button>
        {!readOnly && root && (
          <button type="button" class="primary" data-testid="save-ivr" disabled={busy} onClick={save}>
            {busy ? t('common.saving') : t('action.save')}
          </button>
        )}
      </PageHead>
      <p class="muted ivr-intro">{t('ivrs.intro')}</p>
      <Alert kind="ok">{notice}</Alert>
      {summary.length > 0 && (
        <Alert testId="form-error">
          {summary.map((entry) => (
            <div key={entry.id}>{entry.text}</div>
          ))}
        </Alert>
      )}
      <Alert testId="load-error">{loadError}</Alert>
      {playing && (
        <PlayerBar
          testId="player"
          caption={t('ivrs.playing', { id: playing.id })}
          src={promptAudioUrl(playing.id, playing.lang)}
          audio={{ 'data-prompt': playing.id }}
          onClose={() => setPlaying(null)}
        />
      )}
      {!root && !loadError && <p class="muted">{t('common.loading')}</p>}
      {root && (
        <div class="ivr-tree" data-testid="ivr-tree">
          <IvrNode ctx={ctx} id={rootId} uid="root" path={[]} depth={0} />
        </div>
      )}
      {leaving && (
        <ConfirmDialog
          title={t('ivrs.leave_title')}
          message={t('ivrs.leave_confirm')}
          confirmLabel={t('ivrs.leave')}
          onConfirm={back}
          onClose={() => setLeaving(false)}
        />
      )}
    </section>
  );
}

export function Ivrs({ user }) {
  const route = useRoute();
  const name = route.rest[0];
  // the message of a save that created a menu, for the editor it opens next
  const [flash, setFlash] = useState(null);
  if (!name) return <CrudPage key="list" page={LIST_PAGE} user={user} />;
  const creating = name === '+new';
  return (
    <IvrEditor
      key={name}
      name={creating ? null : name}
      user={user}
      notice={flash && flash.name === name ? flash.text : null}
      onCreated={(created, text) => {
        setFlash({ name: created, text });
        navigate(`ivrs/${created}`);
      }}
    />
  );
}
