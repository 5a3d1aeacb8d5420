// SIP trunks (中继): a peer at a static address whose calls take the inbound routes.
import { CrudPage } from '../components/CrudPage.jsx';
import { t } from '../i18n/index.js';
import { choices, TRUNK_TRANSPORTS } from './options.js';

const PAGE = {
  id: 'trunks',
  title: 'trunks.title',
  singular: 'trunks.singular',
  endpoint: '/api/v1/trunks',
  idField: 'name',
  canEdit: (user) => user.role === 'admin',
  defaults: { port: 5060, transport: 'udp' },
  columns: [
    { key: 'name', label: 'trunks.name' },
    { key: 'host', label: 'trunks.host' },
    { key: 'port', label: 'trunks.port', numeric: true },
    {
      key: 'transport',
      label: 'trunks.transport',
      render: (row) => t(`transport.${row.transport}`),
    },
  ],
  fields: [
    {
      name: 'name',
      label: 'trunks.name',
      type: 'text',
      required: true,
      createOnly: true,
      hint: 'trunks.name_hint',
    },
    { name: 'host', label: 'trunks.host', type: 'text', required: true, hint: 'trunks.host_hint' },
    { name: 'port', label: 'trunks.port', type: 'integer', hint: 'trunks.port_hint' },
    {
      name: 'transport',
      label: 'trunks.transport',
      type: 'select',
      options: choices(TRUNK_TRANSPORTS, 'transport'),
    },
  ],
  describe: (row) => `${row.name} (${row.host}:${row.port})`,
};

export function Trunks({ user }) {
  return <CrudPage page={PAGE} user={user} />;
}
