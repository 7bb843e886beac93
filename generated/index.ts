/** Public entry point of `vibee-consensus/generated`. */
export {};
