// Generic form fields. A field is a plain object:
//   { name, label, type, hint, required, createOnly, writeOnly, nullable, options,
//     placeholder, datalist, autoComplete, section, render, wide }
// type: text | password | integer | select | checkbox | textarea | custom (render()).
// Values are kept as the inputs hold them (strings, booleans); bodyFromValues() turns them
// into the JSON the API takes. Validation is the server's: its message for a field is shown
// right under that field (data-field names it for tests and screen readers).
import { useState } from 'preact/hooks';
import { t } from '../i18n/index.js';
import { splitError } from './errors.js';

const INTEGER = /^-?\d+$/;

export function visibleFields(fields, mode) {
  return fields.filter((field) => !(mode === 'edit' && field.createOnly) && !field.hidden);
}

/** The JSON body for `mode` ("create" or "edit") from the form values. */
export function bodyFromValues(fields, values, mode) {
  const body = {};
  for (const field of visibleFields(fields, mode)) {
    if (field.readOnly) continue;
    const value = values[field.name];
    if (field.type === 'checkbox') {
      body[field.name] = Boolean(value);
    } else if (field.type === 'custom') {
      if (value !== undefined) body[field.name] = field.toJson ? field.toJson(value) : value;
    } else {
      const text = value === undefined || value === null ? '' : String(value);
      if (text === '') {
        if (field.nullable) body[field.name] = null;
        // a required field is sent empty so that the server names it; a secret left empty
        // on edit keeps its old value
        else if (field.required && !(mode === 'edit' && field.writeOnly)) body[field.name] = '';
        continue;
      }
      if (field.type === 'integer') {
        // not a number: sent as typed, the server says what is wrong with it
        body[field.name] = INTEGER.test(text.trim()) ? Number(text.trim()) : text;
      } else {
        body[field.name] = field.type === 'password' ? text : text.trim();
      }
    }
  }
  return body;
}

/** Form values from a record: every field present, secrets empty, null as "". */
export function valuesFromRecord(fields, record) {
  const values = {};
  for (const field of fields) {
    const value = record ? record[field.name] : undefined;
    if (field.writeOnly) values[field.name] = '';
    else if (field.type === 'checkbox') values[field.name] = Boolean(value ?? field.default);
    else if (field.type === 'custom') values[field.name] = value ?? field.default;
    else if (value === null || value === undefined) values[field.name] = field.default ?? '';
    else values[field.name] = String(value);
  }
  return values;
}

function optionsOf(field) {
  const options = typeof field.options === 'function' ? field.options() : field.options || [];
  return options.map((option) =>
    typeof option === 'string' ? { value: option, label: option } : option,
  );
}

/**
 * The state of a form the server validates. run(send): busy while `send` runs, the old
 * messages cleared; what `send` throws goes under the field it names (one of `fieldNames`),
 * else on top of the form (formError). showErrors(fields, form) for a check of the form's own.
 */
export function useServerErrors(fieldNames) {
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState(null);
  const [busy, setBusy] = useState(false);
  const showErrors = (fields, form = null) => {
    setErrors(fields);
    setFormError(form);
  };
  const run = async (send) => {
    setBusy(true);
    showErrors({});
    try {
      await send();
    } catch (err) {
      const split = splitError(err, fieldNames);
      showErrors(split.fields, split.form);
    } finally {
      setBusy(false);
    }
  };
  return { errors, setErrors, formError, busy, run, showErrors };
}

export function FieldError({ name, message }) {
  if (!message) return null;
  return (
    <div class="field-error" role="alert" data-field={name}>
      {message}
    </div>
  );
}

/** One labelled field; its input's id is `${idPrefix}-${name}` (f-number in record forms). */
export function Field({ field, value, onChange, error, disabled, mode, values, idPrefix = 'f' }) {
  const id = `${idPrefix}-${field.name}`;
  const hint = typeof field.hint === 'function' ? field.hint(mode) : field.hint;
  const common = {
    id,
    name: field.name,
    disabled,
    'aria-invalid': error ? 'true' : undefined,
    'aria-describedby': hint ? `${id}-hint` : undefined,
  };
  let control;
  if (field.type === 'checkbox') {
    control = (
      <input
        {...common}
        type="checkbox"
        checked={Boolean(value)}
        onChange={(event) => onChange(event.currentTarget.checked)}
      />
    );
  } else if (field.type === 'select') {
    control = (
      <select {...common} value={value} onChange={(event) => onChange(event.currentTarget.value)}>
        {optionsOf(field).map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    );
  } else if (field.type === 'textarea') {
    control = (
      <textarea
        {...common}
        rows={field.rows || 3}
        value={value}
        onInput={(event) => onChange(event.currentTarget.value)}
      />
    );
  } else if (field.type === 'custom') {
    // values: the whole form, for a field that depends on another (e.g. a user's role)
    control = field.render({
      value,
      onChange,
      disabled,
      id,
      invalid: Boolean(error),
      values,
      mode,
    });
  } else {
    const list = field.datalist ? `${id}-list` : undefined;
    control = (
      <>
        <input
          {...common}
          type={field.type === 'password' ? 'password' : 'text'}
          inputMode={field.type === 'integer' ? 'numeric' : field.inputMode}
          autoComplete={field.autoComplete || (field.type === 'password' ? 'new-password' : 'off')}
          placeholder={field.placeholder}
          list={list}
          value={value}
          onInput={(event) => onChange(event.currentTarget.value)}
        />
        {list && (
          <datalist id={list}>
            {(typeof field.datalist === 'function' ? field.datalist() : field.datalist).map(
              (item) => (
                <option key={item} value={item} />
              ),
            )}
          </datalist>
        )}
      </>
    );
  }
  const classes = ['field', field.type === 'checkbox' ? 'check' : '', field.wide ? 'wide' : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div class={classes} data-testid={`field-${field.name}`}>
      <label for={id}>
        {t(field.label)}
        {field.required && !(mode === 'edit' && field.writeOnly) && (
          <span class="required" aria-hidden="true">
            *
          </span>
        )}
      </label>
      <div class="control">
        {control}
        {hint && (
          <div class="hint" id={`${id}-hint`}>
            {t(hint)}
          </div>
        )}
        <FieldError name={field.name} message={error} />
      </div>
    </div>
  );
}

/** Fields grouped by `section` (a dictionary key), in the order they come. */
export function FormFields({ fields, values, onChange, errors, disabled, mode, idPrefix }) {
  const groups = [];
  for (const field of visibleFields(fields, mode)) {
    const last = groups[groups.length - 1];
    if (last && last.section === (field.section || null)) last.fields.push(field);
    else groups.push({ section: field.section || null, fields: [field] });
  }
  return groups.map((group) => (
    <fieldset class="form-grid" key={group.section || 'main'}>
      {group.section && <legend>{t(group.section)}</legend>}
      {group.fields.map((field) => (
        <Field
          key={field.name}
          field={field}
          mode={mode}
          idPrefix={idPrefix}
          value={values[field.name]}
          values={values}
          error={errors[field.name]}
          disabled={disabled || (field.readOnly && mode === 'edit')}
          onChange={(value) => onChange(field.name, value)}
        />
      ))}
    </fieldset>
  ));
}
