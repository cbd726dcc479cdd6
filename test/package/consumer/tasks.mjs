// The task module of the ESM consumer: plain JavaScript, as a user writes it.
export function inc(n) {
  return n + 1;
}
