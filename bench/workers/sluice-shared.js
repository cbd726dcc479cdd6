// Tasks of the shared-memory scenario: the guide's sqrt(x² + 1) over a range of a Float64Array.
import { chunkTask } from '../../dist/index.js';

function transform(a, start, end) {
  for (let i = start; i < end; i++) a[i] = Math.sqrt(a[i] * a[i] + 1);
}

/** mapShared: works on the range in place (threads) or on the copied range (processes). */
export const scaleRange = chunkTask(({ array, start, end }) => {
  transform(array, start, end);
  return end - start;
});

/** The copying way: a range arrives as a copy, is transformed and returned as a copy. */
export function scaleCopy(chunk) {
  transform(chunk, 0, chunk.length);
  return chunk;
}
