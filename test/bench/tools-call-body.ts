/**
 * The benchmarks' request body: a ~2 KB tools/call of the `query` tool (engine-config.yaml)
 * with a SQL query, two parameters and a free-text note padding it to size. In a module of its
 * own so a benchmark can use it without loading another benchmark's entry point.
 */
export const BENCH_SQL = 'SELECT id, name, email, created_at FROM customers WHERE region = $1 AND status = $2 ORDER BY created_at DESC LIMIT 50';

/** A tools/call message padded to about `bytes` bytes of JSON; `sql` replaces the query. */
export function toolsCallBody(bytes = 2048, sql = BENCH_SQL): Buffer {
  const message = {
    jsonrpc: '2.0',
    id: 0,
    method: 'tools/call',
    params: {
      name: 'query',
      arguments: {
        sql,
        params: ['emea', 'active'],
        note: '',
      },
      _meta: { progressToken: 'p-1' },
    },
  };
  const base = Buffer.byteLength(JSON.stringify(message));
  message.params.arguments.note = 'Quarterly review of active EMEA customers. '.repeat(Math.max(0, Math.ceil((bytes - base) / 43))).slice(0, Math.max(0, bytes - base));
  return Buffer.from(JSON.stringify(message));
}
