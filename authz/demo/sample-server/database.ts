/**
 * The sample server's database: real PostgreSQL (PGlite, in-process WASM), in memory,
 * seeded with customers and users so reads, pagination and injections show real rows.
 */
import { PGlite } from '@electric-sql/pglite';

export const CUSTOMER_COUNT = 35;
export const PAGE_SIZE = 10;

const SEED = `
CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, country text NOT NULL, balance numeric(12,2) NOT NULL);
CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL, role text NOT NULL);
INSERT INTO customers
  SELECT n, 'Customer ' || n, (ARRAY['NL','DE','FR','US','JP'])[1 + n % 5], (n * 137.5)::numeric(12,2)
  FROM generate_series(1, ${CUSTOMER_COUNT}) AS n;
INSERT INTO users VALUES
  (1, 'Ada Lovelace', 'ada@example.com', 'analyst'),
  (2, 'Grace Hopper', 'grace@example.com', 'admin'),
  (3, 'Alan Turing', 'alan@example.com', 'analyst'),
  (4, 'Edsger Dijkstra', 'edsger@example.com', 'viewer');
`;

export async function openSampleDatabase(): Promise<PGlite> {
  const db = await PGlite.create();
  await db.exec(SEED);
  return db;
}
