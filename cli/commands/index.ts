/** Registers the sub-commands beyond describe/diagram (each in its own file). */
export {};
