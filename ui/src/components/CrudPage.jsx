// A list of API records with create / edit / delete through one form: the shape of most
// configuration pages. A page gives the endpoint, the id field, the table columns and the form
// fields; see docs/WEBUI.md ("Adding a page").
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { t } from '../i18n/index.js';
import { ConfirmDialog, Dialog } from './Dialog.jsx';
import { errorMessage, splitError } from './errors.js';
import { bodyFromValues, FormFields, valuesFromRecord, visibleFields } from './Form.jsx';

function cellText(column, row) {
  if (column.render) return column.render(row);
  const value = row[column.key];
  if (typeof value === 'boolean') return value ? t('common.yes') : t('common.no');
  if (value === null || value === undefined || value === '') return '—';
  return String(value);
}

/** The record form in a dialog: POST on create, PUT on edit; server errors by field. */
export function RecordDialog({ page, mode, record, readOnly, onClose, onSaved }) {
  const [values, setValues] = useState(() =>
    page.toForm
      ? page.toForm(record, mode)
      : valuesFromRecord(page.fields, mode === 'create' ? page.defaults || {} : record),
  );
  const [errors, setErrors] = useState({});
  const [formError, setFormError] = useState(null);
  const [busy, setBusy] = useState(false);
  const names = visibleFields(page.fields, mode).map((field) => field.name);
  const form = useRef(null);
  useEffect(() => {
    // the field the server named gets the focus (it may be far up a long form)
    const invalid = form.current && form.current.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  }, [errors]);

  const submit = async (event) => {
    event.preventDefault();
    if (readOnly) return;
    setBusy(true);
    setErrors({});
    setFormError(null);
    let body = bodyFromValues(page.fields, values, mode);
    if (page.toBody) body = page.toBody(body, values, mode);
    try {
      const saved =
        mode === 'create'
          ? await api('POST', page.endpoint, body)
          : await api('PUT', `${page.endpoint}/${seg(record[page.idField])}`, body);
      onSaved(saved, mode);
    } catch (err) {
      const split = splitError(err, names);
      setErrors(split.fields);
      setFormError(split.form);
      setBusy(false);
    }
  };
  const titleKey = readOnly ? 'crud.view_title' : mode === 'create' ? 'crud.create_title' : 'crud.edit_title';
  const title = t(titleKey, {
    what: t(page.singular),
    id: !record ? '' : page.recordName ? page.recordName(record) : record[page.idField],
  });
  const formId = `form-${page.id}`;
  return (
    <Dialog
      title={title}
      onClose={onClose}
      wide={page.wideForm}
      testId="record-dialog"
      footer={
        <>
          <button type="button" onClick={onClose}>
            {readOnly ? t('action.close') : t('action.cancel')}
          </button>
          {!readOnly && (
            <button type="submit" form={formId} class="primary" disabled={busy}>
              {busy ? t('common.saving') : t('action.save')}
            </button>
          )}
        </>
      }
    >
      <form id={formId} ref={form} onSubmit={submit} novalidate>
        {formError && (
          <div class="alert error" role="alert" data-testid="form-error">
            {formError}
          </div>
        )}
        <FormFields
          fields={page.fields}
          values={values}
          errors={errors}
          mode={mode}
          disabled={busy || readOnly}
          onChange={(name, value) => {
            setValues((old) => ({ ...old, [name]: value }));
            if (errors[name]) setErrors((old) => ({ ...old, [name]: undefined }));
          }}
        />
      </form>
    </Dialog>
  );
}

/**
 * page: { id, title, singular, endpoint, idField, columns, fields, defaults?, toForm?,
 *         toBody?, canEdit(user), wideForm?, describe?(row), recordName?(row) }
 */
export function CrudPage({ page, user }) {
  const [items, setItems] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [editing, setEditing] = useState(null);
  const [deleting, setDeleting] = useState(null);
  const [deleteError, setDeleteError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState(null);
  const [filter, setFilter] = useState('');
  const editable = page.canEdit ? page.canEdit(user) : true;

  const load = useCallback(async () => {
    try {
      const data = await api('GET', page.endpoint);
      setItems(page.itemsOf ? page.itemsOf(data) : data.items);
      setLoadError(null);
    } catch (err) {
      setLoadError(errorMessage(err));
      setItems([]);
    }
  }, [page.endpoint]);

  useEffect(() => {
    load();
  }, [load]);

  const onSaved = (saved, mode) => {
    // recordName(row): how notices name a record whose id is a bare row number (optional)
    const id = !saved ? '' : page.recordName ? page.recordName(saved) : saved[page.idField] ?? '';
    setEditing(null);
    setNotice(t(mode === 'create' ? 'crud.created' : 'crud.saved', { what: t(page.singular), id }));
    load();
  };

  const remove = async () => {
    setBusy(true);
    setDeleteError(null);
    try {
      await api('DELETE', `${page.endpoint}/${seg(deleting[page.idField])}`);
      const id = page.recordName ? page.recordName(deleting) : deleting[page.idField];
      setNotice(t('crud.deleted', { what: t(page.singular), id }));
      setDeleting(null);
      load();
    } catch (err) {
      setDeleteError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const needle = filter.trim().toLowerCase();
  const shown = (items || []).filter(
    (row) =>
      !needle ||
      page.columns.some((column) => String(cellText(column, row)).toLowerCase().includes(needle)),
  );

  return (
    <section class="page" data-page={page.id}>
      <header class="page-head">
        <h1>{t(page.title)}</h1>
        <div class="toolbar">
          <input
            type="search"
            class="filter"
            placeholder={t('common.filter')}
            aria-label={t('common.filter')}
            value={filter}
            onInput={(event) => setFilter(event.currentTarget.value)}
          />
          <button type="button" onClick={load}>
            {t('action.refresh')}
          </button>
          {editable && (
            <button
              type="button"
              class="primary"
              data-testid="create"
              onClick={() => setEditing({ mode: 'create', record: null })}
            >
              {t('action.create')}
            </button>
          )}
        </div>
      </header>
      {notice && (
        <div class="alert ok" role="status">
          {notice}
        </div>
      )}
      {loadError && (
        <div class="alert error" role="alert" data-testid="load-error">
          {loadError}
        </div>
      )}
      <table class="grid">
        <thead>
          <tr>
            {page.columns.map((column) => (
              <th key={column.key} class={column.numeric ? 'num' : undefined}>
                {t(column.label)}
              </th>
            ))}
            <th class="actions">{t('common.actions')}</th>
          </tr>
        </thead>
        <tbody>
          {items === null && (
            <tr>
              <td colSpan={page.columns.length + 1} class="empty">
                {t('common.loading')}
              </td>
            </tr>
          )}
          {items !== null && shown.length === 0 && (
            <tr>
              <td colSpan={page.columns.length + 1} class="empty">
                {t('common.none')}
              </td>
            </tr>
          )}
          {shown.map((row) => (
            <tr key={row[page.idField]} data-id={row[page.idField]}>
              {page.columns.map((column) => (
                <td key={column.key} class={column.numeric ? 'num' : undefined}>
                  {cellText(column, row)}
                </td>
              ))}
              <td class="actions">
                {editable ? (
                  <>
                    <button
                      type="button"
                      class="link"
                      onClick={() => setEditing({ mode: 'edit', record: row })}
                    >
                      {t('action.edit')}
                    </button>
                    <button
                      type="button"
                      class="link danger"
                      onClick={() => {
                        setDeleteError(null);
                        setDeleting(row);
                      }}
                    >
                      {t('action.delete')}
                    </button>
                  </>
                ) : (
                  <button
                    type="button"
                    class="link"
                    onClick={() => setEditing({ mode: 'edit', record: row, readOnly: true })}
                  >
                    {t('action.view')}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items !== null && items.length > 0 && (
        <p class="count">{t('common.count', { shown: shown.length, total: items.length })}</p>
      )}
      {editing && (
        <RecordDialog
          page={page}
          mode={editing.mode}
          record={editing.record}
          readOnly={editing.readOnly}
          onClose={() => setEditing(null)}
          onSaved={onSaved}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={t('crud.delete_title', { what: t(page.singular) })}
          message={t('crud.delete_confirm', {
            what: t(page.singular),
            id: page.describe ? page.describe(deleting) : deleting[page.idField],
          })}
          busy={busy}
          error={deleteError}
          onConfirm={remove}
          onClose={() => setDeleting(null)}
        />
      )}
    </section>
  );
}
