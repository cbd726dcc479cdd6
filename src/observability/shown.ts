/**
 * A value as a person reads it in a log line, a dashboard row or a status
 * line: JSON where it can be written as JSON, else `String(value)` (a
 * BigInt, a cycle, a function, a symbol, or a toJSON that throws).
 */
export function shown(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
