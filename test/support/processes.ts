/** Process management lives with the product (the demo uses it): authz/runtime/processes.ts. */
export * from '../../authz/runtime/processes.js';
