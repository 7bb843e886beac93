/** Public entry point of `vibee-consensus/sim`. */
export {};
