// The shared components every page uses (docs/panel.md, "Developing the panel").
export { DataTable, type Column, type DataTableProps, type RowKey } from './DataTable';
export { Form, Field, useForm, type FormState, type Option } from './Form';
export { Modal, confirm, ConfirmHost } from './Modal';
export { toast, ToastHost } from './Toast';
export { Tabs } from './Tabs';
export { Chart, type ChartSeries } from './Chart';
export { PageHeader, Badge, Stat } from './misc';
export * as fmt from './format';
