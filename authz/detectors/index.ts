/**
 * The detector for each argument kind. Kinds without an inspector (`identifier`, `opaque`)
 * are not inspected beyond the schema.
 */
import type { ArgumentKind } from '../api/types.js';
import { inspectPath } from './path.js';
import { inspectText } from './prompt.js';
import { inspectCommand, inspectShell } from './shell.js';
import { inspectSqlFragment } from './sql-fragment.js';
import { inspectSql } from './sql.js';
import { inspectUrl } from './ssrf.js';
import type { KindInspector } from './types.js';

const INSPECTORS: Readonly<Partial<Record<ArgumentKind, KindInspector>>> = {
  path: inspectPath,
  shell: inspectShell,
  command: inspectCommand,
  sql: inspectSql,
  'sql-fragment': inspectSqlFragment,
  url: inspectUrl,
  text: inspectText,
};

export function inspectorForKind(kind: ArgumentKind): KindInspector | undefined {
  return INSPECTORS[kind];
}
