// A list of API records with create / edit / delete through one form: the shape of most
// configuration pages. A page gives the endpoint, the id field, the table columns and the form
// fields; see docs/WEBUI.md ("Adding a page").
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, seg } from '../api.js';
import { useList } from '../hooks.js';
import { t } from '../i18n/index.js';
import { ConfirmDialog, Dialog, useConfirm } from './Dialog.jsx';
import {
  bodyFromValues,
  FormFields,
  useServerErrors,
  valuesFromRecord,
  visibleFields,
} from './Form.jsx';
import { Alert, EmptyRow, FilterInput, matchesFilter, PageHead } from './Page.jsx';

function cellText(column, row, rows) {
  if (column.render) return column.render(row, rows);
  const value = row[column.key];
  if (typeof value === 'boolean') return value ? t('common.yes') : t('common.no');
  if (value === null || value === undefined || value === '') return '—';
  return String(value);
}

function cellClass(column) {
  return column.numeric ? 'num' : column.cellClass;
}

/** How notices and titles name a record: recordName(row) for one whose id is a row number. */
function recordName(page, row) {
  return page.recordName ? page.recordName(row) : row[page.idField];
}

/** The record form in a dialog: POST on create, PUT on edit; server errors by field. */
function RecordDialog({ page, mode, record, readOnly, onClose, onSaved }) {
  const [values, setValues] = useState(() =>
    page.toForm
      ? page.toForm(record, mode)
      : valuesFromRecord(page.fields, mode === 'create' ? page.defaults || {} : record),
  );
  const names = visibleFields(page.fields, mode).map((field) => field.name);
  const { errors, setErrors, formError, busy, run } = useServerErrors(names);
  const form = useRef(null);
  useEffect(() => {
    // the field the server named gets the focus (it may be far up a long form)
    const invalid = form.current && form.current.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
  }, [errors]);

  const submit = (event) => {
    event.preventDefault();
    if (readOnly) return;
    run(async () => {
      let body = bodyFromValues(page.fields, values, mode);
      if (page.toBody) body = page.toBody(body, values, mode);
      const saved =
        mode === 'create'
          ? await api('POST', page.endpoint, body)
          : await api('PUT', `${page.endpoint}/${seg(record[page.idField])}`, body);
      onSaved(saved, mode);
    });
  };
  const titleKey = readOnly
    ? 'crud.view_title'
    : mode === 'create'
      ? 'crud.create_title'
      : 'crud.edit_title';
  const title = t(titleKey, { what: t(page.singular), id: record ? recordName(page, record) : '' });
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
        <Alert testId="form-error">{formError}</Alert>
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
 *         toBody?, canEdit(user), wideForm?, describe?(row), recordName?(row), itemsOf?(data),
 *         filterText?(row), onCreate?(), onOpen?(row) }
 * columns: [{ key, label, render?(row, rows), numeric?, cellClass? }]
 */
export function CrudPage({ page, user }) {
  const { items, error: loadError, load } = useList(page.endpoint, page.itemsOf);
  const [editing, setEditing] = useState(null);
  const [notice, setNotice] = useState(null);
  const [filter, setFilter] = useState('');
  const editable = page.canEdit ? page.canEdit(user) : true;
  const deletion = useConfirm(async (row) => {
    await api('DELETE', `${page.endpoint}/${seg(row[page.idField])}`);
    setNotice(t('crud.deleted', { what: t(page.singular), id: recordName(page, row) }));
    load();
  });
  // a page whose records have an editor of their own (IVRs) opens it instead of the dialog
  const create = page.onCreate || (() => setEditing({ mode: 'create', record: null }));
  const open = (row, readOnly) =>
    page.onOpen ? page.onOpen(row) : setEditing({ mode: 'edit', record: row, readOnly });

  const onSaved = (saved, mode) => {
    const id = saved ? (recordName(page, saved) ?? '') : '';
    setEditing(null);
    setNotice(t(mode === 'create' ? 'crud.created' : 'crud.saved', { what: t(page.singular), id }));
    load();
  };

  const rows = items || [];
  // what the filter box looks in: the page's choice, else every column's text
  const searched = (row) =>
    page.filterText
      ? page.filterText(row)
      : page.columns.map((column) => cellText(column, row, rows));
  const shown = rows.filter((row) => matchesFilter(filter, searched(row)));

  return (
    <section class="page" data-page={page.id}>
      <PageHead title={t(page.title)}>
        <FilterInput value={filter} onChange={setFilter} />
        <button type="button" onClick={load}>
          {t('action.refresh')}
        </button>
        {editable && (
          <button type="button" class="primary" data-testid="create" onClick={create}>
            {t('action.create')}
          </button>
        )}
      </PageHead>
      <Alert kind="ok">{notice}</Alert>
      <Alert testId="load-error">{loadError}</Alert>
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
          <EmptyRow
            columns={page.columns.length + 1}
            rows={items && shown}
            emptyText={t('common.none')}
          />
          {shown.map((row) => (
            <tr key={row[page.idField]} data-id={row[page.idField]}>
              {page.columns.map((column) => (
                <td key={column.key} class={cellClass(column)}>
                  {cellText(column, row, rows)}
                </td>
              ))}
              <td class="actions">
                {editable ? (
                  <>
                    <button type="button" class="link" onClick={() => open(row, false)}>
                      {t('action.edit')}
                    </button>
                    <button type="button" class="link danger" onClick={() => deletion.ask(row)}>
                      {t('action.delete')}
                    </button>
                  </>
                ) : (
                  <button type="button" class="link" onClick={() => open(row, true)}>
                    {t('action.view')}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > 0 && (
        <p class="count">{t('common.count', { shown: shown.length, total: rows.length })}</p>
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
      {deletion.pending && (
        <ConfirmDialog
          title={t('crud.delete_title', { what: t(page.singular) })}
          message={t('crud.delete_confirm', {
            what: t(page.singular),
            id: page.describe ? page.describe(deletion.pending) : deletion.pending[page.idField],
          })}
          {...deletion.dialog}
        />
      )}
    </section>
  );
}
