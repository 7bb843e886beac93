/** The runtime's public entry point (`vibee-consensus`). */
export type * from './env/types.js';
