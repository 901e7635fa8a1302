/** Placeholder until the prompt-injection detector lands: inspects nothing. */
import type { KindInspector } from './types.js';

export const inspectText: KindInspector = () => undefined;
