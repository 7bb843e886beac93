/** Public entry point of `vibee-consensus/check`. */
export {};
