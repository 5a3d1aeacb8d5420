// Inbound routes (呼入路由): an outside call to a DID (or any number: *) goes to a destination,
// or to the closed destination outside the working hours and on holidays.
import { useMemo } from 'preact/hooks';
import { CrudPage } from '../components/CrudPage.jsx';
import {
  describeDestination,
  destinationField,
  useTargets,
} from '../components/DestinationPicker.jsx';
import { valuesFromRecord } from '../components/Form.jsx';
import {
  describeTimeCondition,
  TimeConditionEditor,
  timeConditionToForm,
  timeConditionToJson,
} from '../components/TimeConditionEditor.jsx';
import { t } from '../i18n/index.js';

function routePage(targets) {
  const fields = [
    {
      name: 'did',
      label: 'routes.did',
      type: 'text',
      required: true,
      hint: 'routes.did_hint',
    },
    destinationField('destination', 'routes.destination', targets, { required: true }),
    {
      name: 'time_condition',
      label: 'routes.time_condition',
      type: 'custom',
      wide: true,
      toJson: timeConditionToJson,
      render: (props) => <TimeConditionEditor {...props} />,
    },
    destinationField('closed_destination', 'routes.closed_destination', targets, {
      noneLabel: 'routes.closed_hangup',
      hint: 'routes.closed_hint',
    }),
  ];
  return {
    id: 'inbound-routes',
    title: 'routes.title',
    singular: 'routes.singular',
    endpoint: '/api/v1/inbound-routes',
    idField: 'id',
    wideForm: true,
    canEdit: (user) => user.role === 'admin',
    columns: [
      {
        key: 'did',
        label: 'routes.did',
        render: (row) => (row.did === '*' ? t('routes.any_did') : row.did),
      },
      {
        key: 'destination',
        label: 'routes.destination',
        render: (row) => describeDestination(row.destination),
      },
      {
        key: 'time_condition',
        label: 'routes.time_condition',
        render: (row) => describeTimeCondition(row.time_condition),
      },
      {
        key: 'closed_destination',
        label: 'routes.closed_destination',
        render: (row) =>
          row.time_condition
            ? describeDestination(row.closed_destination, t('routes.closed_hangup'))
            : '—',
      },
    ],
    fields,
    toForm: (record, mode) => {
      const values = valuesFromRecord(fields, mode === 'create' ? {} : record);
      values.time_condition = timeConditionToForm(mode === 'create' ? null : record.time_condition);
      return values;
    },
    describe: (row) => (row.did === '*' ? t('routes.any_did') : row.did),
    recordName: (row) => (row.did === '*' ? t('routes.any_did') : row.did),
  };
}

export function InboundRoutes({ user }) {
  const targets = useTargets();
  const page = useMemo(() => routePage(targets), [targets]);
  return <CrudPage page={page} user={user} />;
}
