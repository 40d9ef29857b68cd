import { add } from "./math.mjs";

export const VERSION = `v${add(1, 1)}`;
export function greet(name) {
  return `hello, ${name}`;
}
