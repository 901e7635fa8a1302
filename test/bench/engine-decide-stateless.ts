/** engine-decide.ts without stages 7–8 (no session state), for isolating their cost. */
import { createDecide as createFull } from './engine-decide.js';

export const createDecide = (): ReturnType<typeof createFull> => createFull({ stateful: false });
