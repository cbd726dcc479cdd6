// The task module the TypeScript consumer types its pool with.
export function inc(n: number): number {
  return n + 1;
}
